/**
 * Patch state of one container for a set of packages, as `patchroll scan` prints it:
 * - `patched`: no process maps an outdated file;
 * - `stale`: some process maps an outdated file (even without a "(deleted)" marker);
 * - `shadowed`: the delta holds its own copy, a whiteout or an opaque dir over a patched file;
 * - `pinned`: deliberately running old package files after a rollback;
 * - `own-dpkg`: the delta holds its own dpkg database, which disagrees with the host;
 * - `stopped`: not running.
 */
export const VERDICTS = ["patched", "stale", "shadowed", "pinned", "own-dpkg", "stopped"] as const;
export type Verdict = (typeof VERDICTS)[number];
