import { z } from "zod";

/**
 * What a host says of itself in each heartbeat. It holds no time of its own sending (the Redis server
 * stamps each heartbeat), so an idle host's record does not change and is not rewritten.
 */
export const HostRecord = z.strictObject({
  v: z.literal(1),
  host: z.string().min(1),
  /** patchroll's version on the host. */
  version: z.string(),
  /** When this daemon started, ISO 8601. */
  startedAt: z.string(),
  /** `stopped`: the daemon's last word on a clean stop. */
  state: z.enum(["up", "stopped"]),
  /** null until the first measure, or when it failed. */
  containers: z.strictObject({ managed: z.number().int(), stale: z.number().int(), shadowed: z.number().int(), pinned: z.number().int() }).nullable(),
  /** The rollout on its way (running, planned, paused, waiting), if any. */
  rollout: z.strictObject({
    id: z.string(),
    status: z.string(),
    batch: z.number().int().optional(),
    batches: z.number().int().optional(),
    packages: z.array(z.string()),
    waitReason: z.string().optional(),
  }).nullable(),
  /** The container that has run outdated code the longest, since when. */
  exposure: z.strictObject({ container: z.string(), since: z.string(), package: z.string().optional() }).nullable(),
  /** The newest apt run seen, with its packages as `NAME=VERSION`. */
  lastAptEvent: z.strictObject({ id: z.string(), time: z.string(), packages: z.array(z.string()) }).nullable(),
});
export type HostRecord = z.infer<typeof HostRecord>;

export type HostStatus = "up" | "stopped" | "lost";

/** One host as `fleet hosts` shows it (the `--json` shape, docs/cli.md). */
export interface HostView {
  host: string;
  status: HostStatus;
  /** The last heartbeat, by the Redis server's clock, ISO 8601. */
  lastSeen: string;
  silentSec: number;
  /** Its last word: the record of its last heartbeat (null when unreadable). */
  record: HostRecord | null;
}

/** A host's status (pure): a clean stop says `stopped`; silence longer than `lostAfterMs` is `lost`. */
export function hostStatus(record: HostRecord | null, seenMs: number, nowMs: number, lostAfterMs: number): HostStatus {
  if (record?.state === "stopped") return "stopped";
  return nowMs - seenMs > lostAfterMs ? "lost" : "up";
}
