import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { readJournal } from "../journal/journal.js";
import { journalExists, journalFile } from "../journal/paths.js";
import { journalState } from "../rollout/resume.js";
import { type Installed, installedHere, willNeverHave } from "./absent-versions.js";
import { judgeRollout } from "./decide.js";
import { type PackageVersion, versionKey } from "./version-state.js";
import { VersionStore } from "./version-store.js";

/** How far back the versions in flight are looked at. */
const RECENT_MS = 14 * 86_400_000;

export interface Reconciled {
  /** Versions this host will never roll out, now said so (`absent`). */
  absent: string[];
  /** Versions whose rollout here ended without the fleet hearing of it (the daemon died in between), now told. */
  ended: string[];
}

/**
 * What this host owes the fleet about recent versions, made good (the daemon's heartbeat runs it with
 * each summary). A version whose waves name this host but which it has not reported: if the host will
 * never roll it out, it says so, so later waves do not wait for it. A version it reported as waiting or
 * running whose rollout's journal says it ended: the ending is told from the journal. One HGET per
 * version once all is said.
 */
export async function reconcileVersions(redis: Redis, config: Pick<Config, "redis" | "hostId" | "journalDir">, nowMs: number, installed: (pkg: string) => Promise<Installed> = installedHere): Promise<Reconciled> {
  const store = new VersionStore(redis, config);
  const out: Reconciled = { absent: [], ended: [] };
  for (const v of await store.recent(nowMs - RECENT_MS)) {
    const mine = await store.hostRecord(v, config.hostId);
    if (mine === null) {
      if (await isAbsent(store, v, config.hostId, installed)) {
        await store.setHost(v, config.hostId, { state: "absent", rollout: "none" });
        out.absent.push(versionKey(v));
      }
    } else if ((mine.state === "waiting" || mine.state === "running") && journalExists(config, mine.rollout)) {
      const s = journalState(readJournal(journalFile(config, mine.rollout)).entries);
      if (s.ended === undefined) continue;
      const j = judgeRollout({ status: s.ended, outcomes: [...s.finished.values()] });
      await store.setHost(v, config.hostId, { state: j.state, rollout: mine.rollout, restarted: j.restarted });
      if (j.state !== "passed") await store.setVerdict(v, { state: j.state, host: config.hostId, rollout: mine.rollout, ...(j.container !== undefined ? { container: j.container } : {}), reason: j.reason });
      out.ended.push(versionKey(v));
    }
  }
  return out;
}

async function isAbsent(store: VersionStore, v: PackageVersion, host: string, installed: (pkg: string) => Promise<Installed>): Promise<boolean> {
  const plan = await store.plan(v);
  return plan !== null && plan.waves.some((w) => w.includes(host)) && willNeverHave(v, await installed(v.pkg));
}
