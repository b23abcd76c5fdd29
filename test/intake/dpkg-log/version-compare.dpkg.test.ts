import { execa } from "execa";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareDebianVersions } from "../../../src/intake/dpkg-log/version-compare.js";

/** The real dpkg's answer: -1, 0 or 1. */
async function dpkgCompare(a: string, b: string): Promise<number> {
  const opts = { reject: false, timeout: 10_000 } as const;
  if ((await execa("dpkg", ["--compare-versions", a, "lt", b], opts)).exitCode === 0) return -1;
  if ((await execa("dpkg", ["--compare-versions", a, "eq", b], opts)).exitCode === 0) return 0;
  return 1;
}

const part = fc.stringMatching(/^[0-9][0-9a-z.+~]{0,6}$/);
const version = fc
  .record({ epoch: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }), up: part, rev: fc.option(fc.stringMatching(/^[0-9a-z.+~]{1,5}$/), { nil: undefined }) })
  .map(({ epoch, up, rev }) => `${epoch === undefined ? "" : `${epoch}:`}${up}${rev === undefined ? "" : `-${rev}`}`);

describe("compareDebianVersions agrees with dpkg --compare-versions", () => {
  it.each([
    ["1.0", "1.0", 0],
    ["1.0~rc1", "1.0", -1],
    ["1.0", "1.0+b1", -1],
    ["1:1.0", "2.0", 1],
    ["2.36-9+deb12u10", "2.36-9+deb12u9", 1],
    ["3.0.17-1~deb12u2", "3.0.17-1~deb12u3", -1],
    ["1.10", "1.9", 1],
    ["1.0a", "1.0+", -1],
    ["0001", "1", 0],
  ] as const)("%s vs %s", async (a, b, want) => {
    expect(Math.sign(compareDebianVersions(a, b))).toBe(want);
    expect(await dpkgCompare(a, b)).toBe(want);
  });

  it("on random versions (property, checked against the real dpkg)", async () => {
    await fc.assert(
      fc.asyncProperty(version, version, async (a, b) => {
        expect(Math.sign(compareDebianVersions(a, b))).toBe(await dpkgCompare(a, b));
      }),
      { numRuns: 150 },
    );
  });
});
