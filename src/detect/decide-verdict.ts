import type { Verdict } from "./verdict.js";

/** What a scan found, reduced to what decides the verdict. */
export interface VerdictFacts {
  /** Some process of the container is alive. */
  running: boolean;
  stale: number;
  shadowed: number;
  pinned: number;
  ownDpkg: boolean;
}

/**
 * One word for a container: stale (a restart fixes it) before shadowed (a restart cannot fix it), then
 * own-dpkg and pinned, then stopped; patched only when nothing else holds.
 */
export function decideVerdict(f: VerdictFacts): Verdict {
  if (f.stale > 0) return "stale";
  if (f.shadowed > 0) return "shadowed";
  if (f.ownDpkg) return "own-dpkg";
  if (f.pinned > 0) return "pinned";
  if (!f.running) return "stopped";
  return "patched";
}
