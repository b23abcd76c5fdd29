import { execa } from "execa";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareDebianVersions, isValidDebianVersion, parseDebianVersion } from "../../src/intake/debian-version.js";

/** What the real `dpkg --compare-versions` says: -1, 0 or 1 per pair (one shell for many pairs). */
async function dpkgCompare(pairs: [string, string][]): Promise<number[]> {
  const script = 'while read -r a b; do if dpkg --compare-versions "$a" lt "$b"; then echo -1; elif dpkg --compare-versions "$a" eq "$b"; then echo 0; else echo 1; fi; done';
  const { stdout } = await execa("sh", ["-c", script], { input: pairs.map(([a, b]) => `${a} ${b}`).join("\n") + "\n", timeout: 120_000, forceKillAfterDelay: 2_000 });
  return stdout.split("\n").map(Number);
}

/** Versions dpkg accepts, with the characters that make comparison interesting. */
const part = fc.array(fc.constantFrom("0", "1", "2", "9", "10", "007", "a", "b", "z", "A", "Z", "~", "+", ".", "~~", "rc", "+b1", "~deb12u1"), { minLength: 0, maxLength: 5 }).map((p) => p.join(""));
const version = fc
  .tuple(fc.option(fc.constantFrom("0", "1", "2", "10"), { nil: undefined }), fc.constantFrom("0", "1", "2", "3", "10"), part, fc.option(fc.tuple(fc.constantFrom("1", "0", "a", "2"), part), { nil: undefined }))
  .map(([epoch, lead, upstream, revision]) => `${epoch === undefined ? "" : `${epoch}:`}${lead}${upstream}${revision === undefined ? "" : `-${revision[0]}${revision[1]}`}`)
  .filter((v) => !v.includes(":") || /^\d+:/.test(v));

describe("Debian versions, checked against the real dpkg", () => {
  it("compares random pairs exactly as dpkg --compare-versions does", async () => {
    const pairs = fc.sample(fc.tuple(version, version), { numRuns: 250, seed: 20261123 });
    // Near-equal pairs are where comparison bugs hide: the same version with one thing changed.
    pairs.push(["1.0", "1.0~rc1"], ["1.0", "1.0+b1"], ["1:0.1", "2.0"], ["1.0-1", "1.0-1~deb12u1"], ["1.0a", "1.0+"], ["1.01", "1.1"], ["1.0", "1.0-0"], ["3.0.17-1~deb12u2", "3.0.22-1~deb12u1"]);
    const expected = await dpkgCompare(pairs);
    const mismatches = pairs.map(([a, b], i) => ({ a, b, dpkg: expected[i], ours: Math.sign(compareDebianVersions(a, b)) })).filter((m) => m.dpkg !== m.ours);
    expect(mismatches).toEqual([]);
  });

  it("accepts what dpkg accepts and refuses what it refuses", async () => {
    const candidates = ["1.0", "1:1.0", "1.0-1", "1.0-", "a1.0", ":1.0", "1.0 1", "x:1.0", "1.0-1-2", "1.0_1", "0", "1:", "1.0-a!b"];
    const { stdout } = await execa("sh", ["-c", 'for v in "$@"; do if dpkg --compare-versions "$v" eq "$v" 2>/dev/null && [ -z "$(dpkg --compare-versions "$v" eq "$v" 2>&1)" ]; then echo ok; else echo bad; fi; done', "sh", ...candidates], { timeout: 60_000 });
    expect(candidates.map((v) => (isValidDebianVersion(v) ? "ok" : "bad"))).toEqual(stdout.split("\n"));
    expect(parseDebianVersion("2:1.0-1-3")).toEqual({ epoch: 2, upstream: "1.0-1", revision: "3" });
  });
});
