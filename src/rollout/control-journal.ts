import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { Config } from "../config/schema.js";
import { isControlEntry, knownEntry } from "../journal/entry.js";
import { RolloutJournal } from "../journal/journal.js";
import { journalFile } from "../journal/paths.js";
import { type JournalLock, tryLockJournal } from "../journal/writer-lock.js";
import { hostKey } from "../queue/names.js";
import { ControlAction } from "./control-action.js";

type NS = Pick<Config, "hostId" | "redis" | "journalDir">;

/** An operator's control waiting to be journaled by the journal's one writer. */
export const PendingControl = z.object({
  /** Names the request, so that a writer that died between journaling it and taking it off never journals it twice. */
  request: z.string().min(1),
  action: ControlAction,
  who: z.string(),
  why: z.string(),
  /** When the operator asked (ISO 8601); the entry's `ts` is when it was journaled. */
  at: z.string(),
  rollBackCompleted: z.boolean().optional(),
  batch: z.number().int().optional(),
});
export type PendingControl = z.infer<typeof PendingControl>;

/** The list of controls not journaled yet, oldest first. */
export function pendingControlsKey(ns: Pick<Config, "hostId" | "redis">, rolloutId: string): string {
  return hostKey(ns, "rollout", rolloutId, "controls", "unjournaled");
}

/** A pending control for `req`, named and timed now. */
export function pendingControl(req: Omit<PendingControl, "request" | "at">, now = new Date()): PendingControl {
  return { ...req, request: randomBytes(8).toString("hex"), at: now.toISOString() };
}

/**
 * Appends the pending controls of the journal's rollout, oldest first, and takes each off the list once it
 * is on disk. Only the holder of the journal's writer lock calls it. Returns how many it journaled.
 */
export async function journalPendingControls(redis: Redis, ns: NS, journal: RolloutJournal): Promise<number> {
  const key = pendingControlsKey(ns, journal.rollout);
  const raw = await redis.lrange(key, 0, -1);
  if (raw.length === 0) return 0;
  const done = new Set(journal.entries().map(knownEntry).filter(isControlEntry).map((k) => k.data.request));
  let written = 0;
  for (const line of raw) {
    const c = PendingControl.safeParse(JSON.parse(line));
    if (c.success && !done.has(c.data.request)) {
      const { action, ...data } = c.data;
      journal.append(`control.${action}`, data);
      written += 1;
    }
    await redis.lrem(key, 1, line);
  }
  return written;
}

/**
 * Journals the pending controls and lets go of the journal. Controls that arrive while it does so, whose
 * senders found the lock taken, are journaled too: after letting go, it looks again and, if some wait and
 * no one else holds the lock, takes it once more.
 */
export async function releaseJournal(redis: Redis, ns: NS, rolloutId: string, lock: JournalLock, journal?: RolloutJournal): Promise<void> {
  let held: JournalLock | undefined = lock;
  let writer = journal;
  while (held !== undefined) {
    try {
      writer ??= new RolloutJournal(ns.journalDir, ns.hostId, rolloutId);
      await journalPendingControls(redis, ns, writer);
    } finally {
      writer?.close();
      held.release();
    }
    writer = undefined;
    held = (await redis.llen(pendingControlsKey(ns, rolloutId))) > 0 ? tryLockJournal(journalFile(ns, rolloutId), "journal an operator's control") : undefined;
  }
}

/**
 * Journals pending controls when no one writes the journal (the rollout is queued, halted or over);
 * while its runner holds the journal, the runner journals them at its next step boundary.
 */
export async function journalControlsIfIdle(redis: Redis, ns: NS, rolloutId: string): Promise<void> {
  const lock = tryLockJournal(journalFile(ns, rolloutId), "journal an operator's control");
  if (lock !== undefined) await releaseJournal(redis, ns, rolloutId, lock);
}

/**
 * Waits until a pending control is journaled (true), helping when no one writes the journal; false when
 * `waitMs` passes first (the runner is in the middle of a step and journals it at the next boundary).
 */
export async function awaitJournaled(redis: Redis, ns: NS, rolloutId: string, pending: PendingControl, waitMs: number): Promise<boolean> {
  const key = pendingControlsKey(ns, rolloutId);
  const line = JSON.stringify(pending);
  const deadline = Date.now() + waitMs;
  for (;;) {
    await journalControlsIfIdle(redis, ns, rolloutId);
    if ((await redis.lpos(key, line)) === null) return true;
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
}
