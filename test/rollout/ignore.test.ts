import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import { globToRegExp, ignoredPackages, isIgnored } from "../../src/rollout/ignore.js";

const defaults = loadConfig({ env: {}, flags: { hostId: "h" } }).config;
/** A config carrying `rollout.ignorePackages`, whether or not the schema knows the key yet. */
const withList = (list: string[]): Pick<Config, "rollout"> => ({ rollout: { ...defaults.rollout, ignorePackages: list } as Config["rollout"] });

describe("ignored packages", () => {
  it("always ignores patchroll's own package, so its upgrade restarts no container", () => {
    expect(isIgnored("patchroll", defaults)).toBe(true);
    expect(ignoredPackages(defaults)).toEqual(["patchroll"]);
  });
  it("does not ignore other packages by default, not even ones whose name contains patchroll", () => {
    for (const name of ["libssl3", "openssl", "patchroll-demo", "xpatchroll", "libc6"]) expect(isIgnored(name, defaults)).toBe(false);
  });
  it("adds the configured names and globs to the built-in one", () => {
    const config = withList(["linux-image-*", "tzdata", "lib?foo"]);
    expect(ignoredPackages(config)).toEqual(["patchroll", "linux-image-*", "tzdata", "lib?foo"]);
    expect(isIgnored("linux-image-6.1.0-28-amd64", config)).toBe(true);
    expect(isIgnored("linux-headers-6.1.0-28-amd64", config)).toBe(false);
    expect(isIgnored("tzdata", config)).toBe(true);
    expect(isIgnored("libxfoo", config)).toBe(true);
    expect(isIgnored("libxxfoo", config)).toBe(false);
    expect(isIgnored("patchroll", config)).toBe(true);
  });
  it("treats regex characters in patterns literally (package names contain '+' and '.')", () => {
    const config = withList(["libstdc++6", "g++-12.*"]);
    expect(isIgnored("libstdc++6", config)).toBe(true);
    expect(isIgnored("libstdcc6", config)).toBe(false);
    expect(isIgnored("g++-12.1", config)).toBe(true);
    expect(isIgnored("g++-1201", config)).toBe(false);
  });
  it("a literal pattern matches exactly itself, for any package name", () => {
    const name = fc.stringMatching(/^[a-z0-9][a-z0-9+.-]{1,20}$/);
    fc.assert(
      fc.property(name, name, (a, b) => {
        expect(globToRegExp(a).test(b)).toBe(a === b);
      }),
    );
  });
});
