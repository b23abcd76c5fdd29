import type { ErrorCode } from "../errors/patchroll-error.js";

/**
 * Exit codes of `patchroll`, one table for every command (documented in docs/cli.md):
 * 0 ok; 1 internal error; 2 usage; 3 configuration invalid; 4 not found; 5 Redis unavailable;
 * 6 container problem; 7 a check found problems (scan: stale/shadowed, doctor: findings);
 * 8 rollout halted.
 */
export const EXIT = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  CONFIG: 3,
  NOT_FOUND: 4,
  REDIS: 5,
  CONTAINER: 6,
  FINDINGS: 7,
  HALTED: 8,
} as const;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case "CONFIG_INVALID":
      return EXIT.CONFIG;
    case "USAGE":
      return EXIT.USAGE;
    case "NOT_FOUND":
      return EXIT.NOT_FOUND;
    case "REDIS_UNAVAILABLE":
      return EXIT.REDIS;
    case "CONTAINER_INVALID":
    case "CONTAINER_FAILED":
    case "SNAPSHOT_FAILED":
      return EXIT.CONTAINER;
    case "ROLLOUT_HALTED":
      return EXIT.HALTED;
    default:
      return EXIT.INTERNAL;
  }
}
