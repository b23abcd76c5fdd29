import type { JournalEntry } from "../../src/journal/entry.js";

export interface CanonicalOptions {
  host: string;
  rollout: string;
  /** Time of the first entry; entry N is written at base + N x 50 ms. */
  base: string;
  /** Text to replace everywhere (random names, paths, ids), longest first. */
  replace: readonly [string, string][];
}

const FIXED: Record<string, number> = { ms: 10, latencyMs: 1, pid: 100, mappedInode: 1, hostInode: 2 };

/**
 * A real rollout's journal with what differs from run to run made fixed (pure): times, durations,
 * latencies, pids, inodes, ports, and the random names of the test's containers and package. The order of
 * the entries, their types, their outcomes and every word the engine wrote are kept: a golden file of the
 * report of this journal changes only when the engine's record or the report does.
 */
export function canonicalJournal(entries: readonly JournalEntry[], o: CanonicalOptions): JournalEntry[] {
  const base = Date.parse(o.base);
  const replace = [...o.replace].sort((a, b) => b[0].length - a[0].length);
  const text = (s: string) => replace.reduce((t, [from, to]) => t.replaceAll(from, to), s).replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:PORT");
  const walk = (v: unknown, at: string, key: string, parent: Record<string, unknown> | null): unknown => {
    if (typeof v === "string") {
      if (key === "at") return at;
      if (key === "time" && parent?.["packages"] !== undefined) return new Date(base - 1500).toISOString();
      if (key === "endedAt" && parent?.["packages"] !== undefined) return new Date(base - 1000).toISOString();
      return text(v);
    }
    if (typeof v === "number") {
      if (key === "rounds") return parent?.["healthy"] === true ? 2 : 3;
      return FIXED[key] ?? v;
    }
    if (Array.isArray(v)) return v.map((x) => walk(x, at, key, parent));
    if (typeof v === "object" && v !== null) {
      const obj = v as Record<string, unknown>;
      return Object.fromEntries(Object.entries(obj).map(([k, x]) => [k, walk(x, at, k, obj)]));
    }
    return v;
  };
  return entries.map((e) => {
    const ts = new Date(base + e.seq * 50).toISOString();
    return {
      ...e,
      ts,
      host: o.host,
      rollout: o.rollout,
      ...(e.container !== undefined ? { container: text(e.container) } : {}),
      data: walk(e.data, ts, "", null) as Record<string, unknown>,
    };
  });
}
