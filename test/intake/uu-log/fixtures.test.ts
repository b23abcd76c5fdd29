import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runsFromFiles } from "./real-logs.js";

// Real logs written by unattended-upgrades 2.9.1 on this kind of machine (see test/fixtures/logs/README.md).
const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/logs/${name}`, import.meta.url));

describe("real unattended-upgrades logs (fixtures)", () => {
  it("dry-run CLI: one successful and one failed run, no warnings", () => {
    const { runs, warnings } = runsFromFiles(fixture("uu-real-dryrun.log.txt"), fixture("uu-real-dryrun-dpkg.log.txt"));
    expect(warnings).toEqual([]);
    expect(runs.map((r) => [r.packages, r.outcome.status, r.dryRun])).toEqual([
      [["zip"], "ok", true],
      [["zip"], "failed", true],
    ]);
    expect(runs[0]!.origins).toEqual(["origin=prtest,label=prtest"]);
    expect(runs[1]!.outcome.reason).toBe("installing the upgrades failed: installArchives() failed");
    expect(runs.map((r) => r.dpkg.blocks)).toEqual([1, 1]);
  });

  it("rootdir runs: installed, failed in dpkg with a blacklisted package kept back, nothing to do", () => {
    const { runs, warnings } = runsFromFiles(fixture("uu-real-rootdir.log.txt"), fixture("uu-real-rootdir-dpkg.log.txt"));
    expect(warnings).toEqual([]);
    expect(runs).toHaveLength(3);
    expect(runs[0]).toMatchObject({ packages: ["prdemo"], outcome: { status: "ok" }, keptBack: [], dpkg: { blocks: 1, setUp: ["prdemo"], failedPackages: [] } });
    expect(runs[1]).toMatchObject({
      packages: ["prdemo"],
      keptBack: ["prblack", "prdemo"],
      outcome: { status: "failed", reason: "installing the upgrades failed: installArchives() failed (dpkg failed on prdemo)" },
      dpkg: { blocks: 1, failedPackages: ["prdemo"] },
    });
    expect(runs[1]!.errors).toContain("dpkg returned a error! See /tmp/uu-root/root/var/log/unattended-upgrades/unattended-upgrades-dpkg.log for details");
    expect(runs[2]).toMatchObject({ packages: [], keptBack: ["prblack"], outcome: { status: "ok" } });
    for (const r of runs) expect(Date.parse(r.endedAt!)).toBeGreaterThanOrEqual(Date.parse(r.startedAt));
  });
});
