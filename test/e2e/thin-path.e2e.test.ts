import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../../src/daemon/daemon.js";
import { buildDemoPackage, demoLibraryPath, LocalRepo } from "../../src/demo/package-fixture.js";
import { captureDir } from "../../src/intake/capture.js";
import { readJournal } from "../../src/journal/journal.js";
import { journalFile } from "../../src/journal/paths.js";
import { silentLogger } from "../../src/log/logger.js";
import { connectRedis } from "../../src/queue/connection.js";
import { RolloutStore, type RolloutState } from "../../src/rollout/rollout-store.js";
import { verifyPatched } from "../../src/detect/scan.js";
import { listPins } from "../../src/containers/pins.js";
import { HermeticApt } from "../helpers/apt.js";
import { lxcTestBed, type TestBed, type TestContainer } from "../helpers/lxc.js";
import { testEnv, type TestEnv } from "../helpers/redis.js";
import { compareTrees } from "../helpers/tree-compare.js";

/**
 * The thin path, all real: apt-get upgrades a package from a local repository -> the apt hook spools it ->
 * the daemon enqueues it -> the rollout worker restarts the containers that map the package in two batches
 * ([1, rest]) with HTTP health checks -> a journal line per step. Then a broken upgrade: the canary fails
 * its health check, its delta is restored, the old library pinned, and the rollout halts with the other
 * containers untouched.
 */
describe("apt upgrade -> hook -> spool -> daemon -> BullMQ -> batched restarts -> health -> journal", () => {
  const pkg = `prt${randomBytes(3).toString("hex")}`;
  let env: TestEnv;
  let bed: TestBed;
  let apt: HermeticApt;
  let daemon: Daemon;
  let work: string;
  const containers: TestContainer[] = [];

  beforeAll(async () => {
    bed = await lxcTestBed("e2e");
    env = testEnv("e2e", {
      lxc: { path: bed.lxcPath, hostRoot: bed.hostRoot, stopTimeoutSec: 5 },
      rollout: { batches: [1, "100%"], healthIntervalMs: 50, healthyAfter: 2, unhealthyAfter: 3, healthTimeoutMs: 5000, maxParallel: 4 },
    });
    work = mkdtempSync(join(env.root, "pkgs-"));
    const repo = new LocalRepo(join(work, "repo"), { origin: "prtest", label: "prtest-security", suite: "prtest-security", codename: "prtest" });
    for (const [version, broken] of [["1.0", false], ["1.1", false], ["2.0", true]] as const) {
      await repo.add(await buildDemoPackage({ dir: work, name: pkg, version, broken }));
    }
    await repo.publish();
    apt = new HermeticApt({ root: join(work, "apt"), repo, hooks: { spoolDir: env.config.spoolDir, captureDir: captureDir(env.config.stateDir) } });
    await apt.update();
    await apt.install([`${pkg}=1.0`]);
    for (const f of readdirSync(env.config.spoolDir)) rmSync(join(env.config.spoolDir, f), { recursive: true, force: true });
    for (let i = 0; i < 4; i++) {
      containers.push(await bed.create({ env: { LD_PRELOAD: demoLibraryPath(pkg) }, group: i % 2 === 0 ? "web" : "api" }));
    }
    daemon = new Daemon(env.config, silentLogger(), { driver: bed.driver });
    await daemon.start();
  });

  afterAll(async () => {
    await daemon?.stop(5000);
    await apt?.cleanup();
    await bed?.cleanup();
    env?.cleanup();
  });

  async function waitForRollout(done: (s: RolloutState) => boolean, skip: ReadonlySet<string>): Promise<RolloutState> {
    const redis = await connectRedis(env.config, "client");
    try {
      const store = new RolloutStore(redis, env.config);
      const deadline = Date.now() + 60_000;
      for (;;) {
        const found = (await store.list()).find((s) => !skip.has(s.id) && done(s));
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error(`no finished rollout within 60 s; have: ${JSON.stringify(await store.list())}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      redis.disconnect();
    }
  }

  const seen = new Set<string>();

  it("patches every container that maps the package, canary first, and journals each step", async () => {
    const initPids = await Promise.all(containers.map(async (c) => (await c.info()).initPid));
    const result = await apt.install([`${pkg}=1.1`]);
    expect(result.exitCode).toBe(0);

    const rollout = await waitForRollout((s) => s.status === "completed" || s.status === "halted", seen);
    seen.add(rollout.id);
    expect(rollout.status).toBe("completed");
    expect(rollout.outcomes?.map((o) => o.outcome)).toEqual(["patched", "patched", "patched", "patched"]);

    const journal = readJournal(journalFile(env.config, rollout.id));
    expect(journal.problems).toEqual([]);
    const planned = journal.entries.find((e) => e.type === "rollout.planned")!;
    const batches = (planned.data["plan"] as { batches: string[][] }).batches;
    expect(batches.map((b) => b.length)).toEqual([1, 3]);
    expect(batches.flat().sort()).toEqual(containers.map((c) => c.name).sort());
    for (const c of containers) {
      const steps = journal.entries.filter((e) => e.container === c.name && e.type === "step.begin").map((e) => e.data["step"]);
      // The delta is pre-copied while the container runs; the snapshot after the stop catches up.
      expect(steps).toEqual(["precopy", "stop", "snapshot", "start", "health", "verify"]);
      const info = await c.info();
      expect(initPids).not.toContain(info.initPid);
      expect((await verifyPatched(info, [pkg])).ok).toBe(true);
      expect((await fetch(c.healthUrl)).status).toBe(200);
    }
    // The canary's batch finished before the second batch started.
    const types = journal.entries.map((e) => `${e.type}${e.data["batch"] ?? ""}`);
    expect(types.indexOf("batch.finished1")).toBeLessThan(types.indexOf("batch.started2"));
  });

  it("rolls back a canary that a broken update breaks, pins it to the old files, and halts", async () => {
    const canaryName = (await waitForRollout((s) => s.status === "completed", new Set())).outcomes![0]!.container;
    const canary = containers.find((c) => c.name === canaryName)!;
    const others = containers.filter((c) => c !== canary);
    const snapshotOfDelta = mkdtempSync(join(env.root, "delta-before-"));
    await import("execa").then(({ execa }) => execa("cp", ["-a", `${canary.deltaDir}/.`, snapshotOfDelta]));
    const otherPids = await Promise.all(others.map(async (c) => (await c.info()).initPid));

    const result = await apt.install([`${pkg}=2.0`]);
    expect(result.exitCode).toBe(0);
    const rollout = await waitForRollout((s) => s.status === "completed" || s.status === "halted", seen);
    seen.add(rollout.id);

    expect(rollout.status).toBe("halted");
    expect(rollout.outcomes).toHaveLength(1);
    expect(rollout.outcomes![0], JSON.stringify(readJournal(journalFile(env.config, rollout.id)).entries.filter((e) => e.type === "step.end" && e.data["step"] === "rollback.start").map((e) => e.data))).toMatchObject({ container: canary.name, outcome: "rolled-back" });
    expect(rollout.haltReason).toMatch(/halted after batch 1/);

    // The canary serves again, on the old library pinned into its delta; the host keeps the broken one.
    expect((await fetch(canary.healthUrl)).status).toBe(200);
    const pins = listPins(env.config.stateDir);
    expect(pins.map((p) => p.container)).toEqual([canary.name]);
    expect(pins[0]!.packages).toEqual([expect.objectContaining({ name: pkg, version: "1.1" })]);
    // Its delta is what it was before the restart plus exactly the pinned files (and their parent dirs).
    const pinned = pins[0]!.paths.map((p) => p.slice(1));
    const explained = (name: string) => name === "." || pinned.some((p) => p === name || p.startsWith(`${name}/`));
    const diff = await compareTrees(snapshotOfDelta, canary.deltaDir);
    expect(diff.filter((d) => !explained(d.slice(0, d.indexOf(": "))))).toEqual([]);
    expect(pinned.length).toBeGreaterThan(0);

    // The others were not touched.
    expect(await Promise.all(others.map(async (c) => (await c.info()).initPid))).toEqual(otherPids);
    const journal = readJournal(journalFile(env.config, rollout.id));
    const steps = journal.entries.filter((e) => e.container === canary.name && e.type === "step.begin").map((e) => e.data["step"]);
    // The broken library kills the service at load: the start itself, or the health gate, fails.
    expect(steps.slice(0, 4)).toEqual(["precopy", "stop", "snapshot", "start"]);
    expect(steps.slice(-5)).toEqual(["rollback.stop", "rollback.restore", "rollback.pin", "rollback.start", "rollback.health"]);
    expect(rollout.outcomes![0]!.reason).toMatch(/did not start|stopped right after start|health check .* in a row/);
    expect(journal.entries.some((e) => e.type === "rollout.halted")).toBe(true);
  });
});
