import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { buildDemoPackage, demoLibraryPath, dpkgArchitecture } from "../../src/demo/package-fixture.js";
import { startManualRollout } from "../../src/rollout/manual-rollout.js";
import { flagsFor } from "../cli/run-cli.js";
import { runDpkg } from "../helpers/dpkg-lock.js";
import { rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";

// A real library loaded into every service (LD_PRELOAD); two containers hold their own copy in the delta.
const lib = `prt-vlib-${randomBytes(3).toString("hex")}`;
const libPath = demoLibraryPath(lib);
let work: string;
let h: RolloutHarness;
const copyInto = (deltaDir: string) => {
  mkdirSync(join(deltaDir, "usr/lib", lib), { recursive: true });
  copyFileSync(libPath, join(deltaDir, libPath));
};

beforeAll(async () => {
  work = mkdtempSync("/var/tmp/patchroll-test-debs-");
  await runDpkg(["-i", await buildDemoPackage({ dir: work, name: lib, version: "1.0" })]);
  const preload = { LD_PRELOAD: libPath };
  h = await rolloutHarness("verify", [
    // Runs its own copy from the start: the plan leaves it out, a restart cannot fix it.
    { env: preload, group: "a", prepare: (c) => copyInto(c.deltaDir) },
    // Gets its copy while it runs the host's library: stale, restarted, and then runs the copy.
    { env: preload, group: "b" },
    { env: preload, group: "c" },
  ], { rollout: { select: "stale", batches: ["100%"], approveAfter: [] } });
  copyInto(h.containers[1]!.deltaDir);
  await runDpkg(["-i", await buildDemoPackage({ dir: work, name: lib, version: "1.1" })]);
  await h.startDaemon();
});
afterAll(async () => {
  try {
    await h?.cleanup();
    await runDpkg(["--purge", lib]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

describe("a rollout's verification uses the scan's checks", () => {
  it("never calls a restarted container that runs its delta's copy patched; the plan and the report say what would fix it", async () => {
    const [own, late, plain] = h.containers.map((c) => c.name) as [string, string, string];
    const arch = await dpkgArchitecture();
    const { rolloutId } = await startManualRollout(h.redis, h.queues, h.env.config, [{ name: lib, arch, from: "1.0", to: "1.1", action: "upgrade" }]);
    await h.waitFor(rolloutId, ["completed", "halted"]);
    const journal = h.journal(rolloutId);
    const plan = journal.find((e) => e.type === "rollout.planned")!.data["plan"] as { affected: { name: string; reason: string }[]; excluded: { name: string; reason: string }[] };
    const fix = (name: string) => `remove ${join(h.env.config.lxc.path, name, "delta0", libPath)}`;
    expect(plan.excluded).toEqual([{ name: own, reason: expect.stringMatching(/^shadowed: .*a restart cannot bring the fix: copy .* of prt-vlib-\w+ 1\.1: .*to fix: remove .*then restart the container$/) }]);
    expect(plan.excluded[0]!.reason).toContain(fix(own));
    expect(plan.affected.find((a) => a.name === late)?.reason).toContain(`its delta also shadows a changed file, which the restart cannot fix`);

    const done = Object.fromEntries(journal.filter((e) => e.type === "container.done").map((e) => [e.container, e.data as { outcome: string; reason: string }]));
    expect(done[plain]).toMatchObject({ outcome: "patched" });
    expect(done[late]).toMatchObject({ outcome: "unverified", reason: expect.stringContaining("shadowed, which a restart cannot fix") });
    expect(done[late]!.reason).toContain(fix(late));

    const out: string[] = [];
    await main([...flagsFor(h.env.config), "report", rolloutId, "--format", "md"], { out: (t) => out.push(t), err: (t) => out.push(t) }, {});
    const report = out.join("\n");
    expect(report).toContain(fix(own));
    expect(report).toContain(fix(late));
    expect(report).toContain("runbooks/shadowed-containers.md");
  });
});
