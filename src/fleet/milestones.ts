import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { fleetKey } from "./fleet-keys.js";

type NS = Pick<Config, "redis">;

/**
 * Milestones kept in the fleet's stream, `{PREFIX:fleet}:milestones`, fleet-wide (older ones are trimmed;
 * each host's journals keep everything). About 100 bytes each: 100,000 is some 10 MiB of Redis.
 */
export const MILESTONES_KEPT = 100_000;

/** One step of one host's rollout of one version, as published to the fleet. */
export interface Milestone {
  /** `NAME=VERSION`. */
  version: string;
  host: string;
  rollout: string;
  /** A host state (`waiting`, `running`, `passed`, `failed`, `inconclusive`, `absent`) or `verdict`. */
  milestone: string;
  /** ms, the Redis server's clock. */
  at: number;
  /** `verdict`: why. */
  reason?: string;
}

/** A stream entry's flat `[field, value, ...]` list as a map. */
export function streamFields(fields: readonly string[]): Map<string, string> {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
  return f;
}

export function milestonesKey(ns: NS): string {
  return fleetKey(ns, "milestones");
}

/** XADD arguments for a milestone (appended to a MULTI by the version store). */
export function milestoneArgs(m: Milestone): string[] {
  return ["MAXLEN", "~", String(MILESTONES_KEPT), "*", "version", m.version, "host", m.host, "rollout", m.rollout, "milestone", m.milestone, "at", String(m.at), ...(m.reason !== undefined ? ["reason", m.reason] : [])];
}

/** The milestones of one version still in the stream, and up to when the stream may have lost entries (null: never). */
export async function readMilestones(redis: Redis, ns: NS, version: string): Promise<{ milestones: Milestone[]; trimmedUpToMs: number | null }> {
  const key = milestonesKey(ns);
  const out: Milestone[] = [];
  const trimmedUpToMs = await trimmedUpTo(redis, key);
  let from = "-";
  for (;;) {
    const batch = await redis.xrange(key, from, "+", "COUNT", 1000);
    for (const [, fields] of batch) {
      const f = streamFields(fields);
      if (f.get("version") !== version) continue;
      out.push({ version, host: f.get("host") ?? "", rollout: f.get("rollout") ?? "", milestone: f.get("milestone") ?? "", at: Number(f.get("at")), ...(f.has("reason") ? { reason: f.get("reason")! } : {}) });
    }
    if (batch.length < 1000) return { milestones: out, trimmedUpToMs };
    from = `(${batch.at(-1)![0]}`;
  }
}

/**
 * Up to when the stream may have lost entries (ms), or null when it never lost any: entries were trimmed
 * when more were added than it holds (Redis 7's `entries-added`); they were older than its first entry.
 */
async function trimmedUpTo(redis: Redis, key: string): Promise<number | null> {
  if ((await redis.exists(key)) === 0) return null;
  const raw = (await redis.call("XINFO", "STREAM", key)) as unknown[];
  const info = new Map<string, unknown>();
  for (let i = 0; i + 1 < raw.length; i += 2) info.set(String(raw[i]), raw[i + 1]);
  const length = Number(info.get("length"));
  const added = Number(info.get("entries-added") ?? Number.NaN);
  if (!(Number.isNaN(added) ? length >= MILESTONES_KEPT : added > length)) return null;
  const ms = (id: unknown) => Number(String(id).split("-")[0]);
  if (length === 0) return ms(info.get("last-generated-id")) + 1;
  const [first] = await redis.xrange(key, "-", "+", "COUNT", 1);
  return first === undefined ? null : ms(first[0]);
}
