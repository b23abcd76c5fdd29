import { statSync } from "node:fs";
import { join } from "node:path";
import type { StaleMapping } from "../detect/scan.js";

/**
 * How long a container has run outdated code: since the host got the patched file (the new file's ctime:
 * dpkg writes it and renames it into place at install time; its mtime is the archive's and says nothing)
 * while the container still maps the old inode.
 */
export interface Exposure {
  container: string;
  /** When the host got the newest file this container still runs an old copy of, ISO 8601. */
  since: string;
  ageSec: number;
  path: string;
  package?: string;
}

/** The host file's ctime in ms, or undefined when it is gone. */
export type CtimeOf = (path: string) => number | undefined;

/** Reads ctimes under `hostRoot` (falling back to `/`), caching each path once. */
export function ctimeReader(hostRoot: string): CtimeOf {
  const cache = new Map<string, number | undefined>();
  return (path) => {
    if (!cache.has(path)) {
      let ms: number | undefined;
      for (const p of [join(hostRoot, path), path]) {
        try {
          ms = statSync(p).ctimeMs;
          break;
        } catch {
          // try the next
        }
      }
      cache.set(path, ms);
    }
    return cache.get(path);
  };
}

/**
 * A container's exposure (pure given `ctimeOf`): from its OLDEST outdated mapping, i.e. the earliest
 * patched file it still does not run. Undefined when nothing it maps is outdated, or the host files are gone.
 */
export function exposureOf(container: string, stale: readonly StaleMapping[], ctimeOf: CtimeOf, now: Date): Exposure | undefined {
  let best: { ms: number; m: StaleMapping } | undefined;
  for (const m of stale) {
    if (m.hostInode === null) continue;
    const ms = ctimeOf(m.path);
    if (ms !== undefined && (best === undefined || ms < best.ms)) best = { ms, m };
  }
  if (best === undefined) return undefined;
  return {
    container,
    since: new Date(best.ms).toISOString(),
    ageSec: Math.max(0, Math.round((now.getTime() - best.ms) / 1000)),
    path: best.m.path,
    ...(best.m.package !== undefined ? { package: best.m.package } : {}),
  };
}

/** The longest exposure of a list, or undefined. */
export function oldestExposure(list: readonly (Exposure | undefined)[]): Exposure | undefined {
  return list.reduce<Exposure | undefined>((a, b) => (b === undefined ? a : a === undefined || b.ageSec > a.ageSec ? b : a), undefined);
}
