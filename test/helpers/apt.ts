import { HermeticApt as HermeticAptBase, type HermeticAptOptions } from "../../src/demo/hermetic-apt.js";
import { withDpkgLock } from "./dpkg-lock.js";

export { APT_SNIPPET, type AptResult, HOOKS_DIR, hookSnippet } from "../../src/demo/hermetic-apt.js";

/**
 * src/demo/hermetic-apt.ts's real, hermetic apt-get and unattended-upgrade (own APT_CONFIG, sources, lists,
 * caches and apt state; the machine's dpkg), with every apt and dpkg call under the machine-wide test
 * dpkg lock, so test files running in parallel take turns. `cleanup()` purges what it installed.
 */
export class HermeticApt extends HermeticAptBase {
  constructor(options: Omit<HermeticAptOptions, "lock">) {
    super({ ...options, lock: (fn) => withDpkgLock(fn) });
  }
}
