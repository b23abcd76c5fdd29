/**
 * Patch state of one container for a set of packages, as `patchroll scan` prints it:
 * - `patched`: no process maps, holds open or loaded an outdated file, and none runs a shadowing copy;
 * - `stale`: some process maps, holds open or loaded (interpreted code) an outdated file (even without a
 *   "(deleted)" marker);
 * - `shadowed`: the delta holds its own copy, a whiteout or an opaque dir over a patched file (a copy in
 *   use counts in every scan; with packages, every file of them);
 * - `pinned`: deliberately running old package files after a rollback;
 * - `own-dpkg`: the delta holds its own dpkg database, which disagrees with the host;
 * - `stopped`: not running.
 * docs/verdicts.md says what evidence each carries, how it is found and what fixes it.
 */
export const VERDICTS = ["patched", "stale", "shadowed", "pinned", "own-dpkg", "stopped"] as const;
export type Verdict = (typeof VERDICTS)[number];
