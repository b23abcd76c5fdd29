import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { readJournal } from "../journal/journal.js";
import { runToolOk } from "../proc/tool-failure.js";
import { connectRedis } from "../queue/connection.js";
import type { DoctorCheck, Finding } from "./check.js";

/** Skew between this host and Redis above which BullMQ's delays and lock expiries go wrong. */
export const MAX_REDIS_SKEW_MS = 2000;
/** A journal entry this far in the future means the clock went back (or was ahead when it was written). */
export const MAX_JOURNAL_AHEAD_MS = 60_000;

/** What the clock check saw. */
export interface ClockFacts {
  now: number;
  /** Redis `TIME`, in ms; absent when Redis is away. */
  redisMs?: number;
  /** The newest journal entry's time, with its file. */
  newestJournal?: { ms: number; file: string };
  /** timedatectl's NTPSynchronized; absent when unknown. */
  ntpSynchronized?: boolean;
}

/** Judges the clock (pure). */
export function judgeClock(f: ClockFacts): Finding[] {
  const out: Finding[] = [];
  if (f.redisMs !== undefined && Math.abs(f.now - f.redisMs) > MAX_REDIS_SKEW_MS) {
    out.push({ severity: "error", problem: `this host's clock is ${((f.now - f.redisMs) / 1000).toFixed(1)} s off Redis' clock: delayed jobs and worker locks expire at the wrong time`, fix: "synchronise both with NTP: timedatectl set-ntp true (here and on the Redis host); check with chronyc tracking or timedatectl timesync-status" });
  }
  if (f.newestJournal !== undefined && f.newestJournal.ms - f.now > MAX_JOURNAL_AHEAD_MS) {
    out.push({ severity: "error", problem: `the journal ${f.newestJournal.file} has an entry from ${new Date(f.newestJournal.ms).toISOString()}, ${Math.round((f.newestJournal.ms - f.now) / 1000)} s in the future: the clock went back, so timelines and reports will be out of order`, fix: "set the clock right (timedatectl set-ntp true), and say so when reading reports of rollouts around this time" });
  }
  if (f.ntpSynchronized === false) {
    out.push({ severity: "warning", problem: "the system clock is not synchronised (timedatectl: NTPSynchronized=no)", fix: "timedatectl set-ntp true, and make sure an NTP client (systemd-timesyncd or chrony) runs" });
  }
  return out;
}

/** The newest entry time over the host's most recently written journals. */
function newestJournal(dir: string): ClockFacts["newestJournal"] {
  let files: { file: string; mtime: number }[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".jsonl")).map((f) => ({ file: join(dir, f), mtime: statSync(join(dir, f)).mtimeMs }));
  } catch {
    return undefined;
  }
  let best: ClockFacts["newestJournal"];
  for (const { file } of files.sort((a, b) => b.mtime - a.mtime).slice(0, 10)) {
    for (const e of readJournal(file).entries) {
      const ms = Date.parse(e.ts);
      if (Number.isFinite(ms) && (best === undefined || ms > best.ms)) best = { ms, file };
    }
  }
  return best;
}

async function ntpSynchronized(): Promise<boolean | undefined> {
  try {
    const { stdout } = await runToolOk("timedatectl", ["show", "--property=NTPSynchronized", "--value"], { timeoutMs: 5000, killAfterMs: 1000 });
    return stdout.trim() === "yes" ? true : stdout.trim() === "no" ? false : undefined;
  } catch {
    return undefined;
  }
}

async function redisTime(ctx: Parameters<DoctorCheck["run"]>[0]): Promise<number | undefined> {
  try {
    const redis = await connectRedis(ctx.config, "client");
    try {
      const [sec, usec] = await redis.time();
      return Number(sec) * 1000 + Math.round(Number(usec) / 1000);
    } finally {
      redis.disconnect();
    }
  } catch {
    return undefined;
  }
}

/** The clock: against Redis, against the journals already written, and NTP. */
export const clockCheck: DoctorCheck = {
  id: "clock",
  title: "clock sane",
  async run(ctx) {
    const [redisMs, ntp] = await Promise.all([redisTime(ctx), ntpSynchronized()]);
    const journal = newestJournal(join(ctx.config.journalDir, ctx.config.hostId));
    return judgeClock({ now: ctx.now().getTime(), ...(redisMs !== undefined ? { redisMs } : {}), ...(journal !== undefined ? { newestJournal: journal } : {}), ...(ntp !== undefined ? { ntpSynchronized: ntp } : {}) });
  },
};
