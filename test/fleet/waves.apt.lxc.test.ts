import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, renameSync, copyFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDemoPackage, demoLibraryPath, LocalRepo } from "../../src/demo/package-fixture.js";
import { captureDir } from "../../src/intake/capture.js";
import { readJournal } from "../../src/journal/journal.js";
import { journalFile } from "../../src/journal/paths.js";
import type { JournalEntry } from "../../src/journal/entry.js";
import { RolloutStore, type RolloutState } from "../../src/rollout/rollout-store.js";
import type { VerdictsDocument } from "../../src/fleet/verdicts.js";
import { HermeticApt } from "../helpers/apt.js";
import { eventually, type FleetBed, fleetBed, type FleetHost } from "./fleet-bed.js";

const BAKE_MS = 1500;

/**
 * Three real daemons (the built binary) on one real redis-server, each with its own host id, LXC path,
 * state/spool/journal dirs and a real overlay container that loads a library from a real package. The
 * three "hosts" share this machine's dpkg, so one real apt run changes the package for all of them; its
 * hook records (and captured old files) are handed to each host's spool, as each host's own apt hook
 * would have written them. Waves [1, 1] (host after host), the canary named by `fleet.canaryHosts`.
 */
describe("fleet waves and verdicts: three daemons, one package version (real apt, LXC, Redis)", () => {
  const pkg = `prf${randomBytes(3).toString("hex")}`;
  let fleet: FleetBed;
  let apt: HermeticApt;
  let stage: string;
  let canary: FleetHost;
  let second: FleetHost;
  let third: FleetHost;

  beforeAll(async () => {
    stage = mkdtempSync("/var/tmp/patchroll-test-fleet-stage-");
    const repo = new LocalRepo(join(stage, "repo"), { origin: "prtest", label: "prtest-security", suite: "prtest-security", codename: "prtest" });
    for (const [version, broken] of [["1.0", false], ["1.1", false], ["2.0", true]] as const) await repo.add(await buildDemoPackage({ dir: stage, name: pkg, version, broken }));
    await repo.publish();
    apt = new HermeticApt({ root: join(stage, "apt"), repo, hooks: { spoolDir: join(stage, "spool"), captureDir: join(stage, "capture") } });
    await apt.update();
    await apt.install([`${pkg}=1.0`]);
    rmSync(join(stage, "spool"), { recursive: true, force: true });
    const spec = [{ env: { LD_PRELOAD: demoLibraryPath(pkg) } }];
    fleet = await fleetBed("fwav", [spec, spec, spec], () => ({ rollout: { batches: [1, "100%"], healthTimeoutMs: 5000 }, fleet: { waves: [1, 1], bakeMs: BAKE_MS, canaryHosts: ["fwav-2"] } }));
    [second, third, canary] = fleet.hosts as [FleetHost, FleetHost, FleetHost];
    for (const host of fleet.hosts) host.start();
    await eventually("three hosts up", async () => ((await fleet.client.zcard(`{${fleet.prefix}:fleet}:seen`)) === 3 ? true : undefined));
  });
  afterAll(async () => {
    await fleet?.cleanup();
    await apt?.cleanup();
    if (stage !== undefined) rmSync(stage, { recursive: true, force: true });
  });

  /** The apt run's hook records and captures, handed to every host's spool as its own apt hook would have. */
  async function upgrade(version: string): Promise<void> {
    const r = await apt.install([`${pkg}=${version}`]);
    expect(r.exitCode, r.stderr).toBe(0);
    const spool = join(stage, "spool");
    for (const host of fleet.hosts) {
      const c = host.h.env.config;
      mkdirSync(captureDir(c.stateDir), { recursive: true });
      await execa("cp", ["-a", `${join(stage, "capture")}/.`, captureDir(c.stateDir)]);
      for (const name of readdirSync(spool).filter((n) => n.endsWith(".rec"))) {
        copyFileSync(join(spool, name), join(c.spoolDir, `.tmp-${name}`));
        renameSync(join(c.spoolDir, `.tmp-${name}`), join(c.spoolDir, name));
      }
    }
    rmSync(spool, { recursive: true, force: true });
  }

  const rolloutOf = async (host: FleetHost, version: string): Promise<RolloutState | undefined> => {
    const list = await new RolloutStore(fleet.client, host.h.env.config).list();
    return list.find((s) => journalOf(host, s.id).some((e) => e.type === "rollout.planned" && JSON.stringify(e.data["event"]).includes(`"to":"${version}"`)));
  };
  const journalOf = (host: FleetHost, id: string): JournalEntry[] => readJournal(journalFile(host.h.env.config, id)).entries;
  const ended = (host: FleetHost, version: string) => eventually(`${host.h.env.config.hostId}'s rollout of ${version} ended`, async () => {
    const s = await rolloutOf(host, version);
    return s !== undefined && ["completed", "halted", "aborted"].includes(s.status) ? s : undefined;
  }, 90_000);
  const ts = (entries: JournalEntry[], type: string) => Date.parse(entries.find((e) => e.type === type)?.ts ?? "NaN");
  const pidOf = async (host: FleetHost) => (await host.h.containers[0]!.info()).initPid;

  it("a good version goes through the waves host after host, each wave after the last one baked", async () => {
    await upgrade("1.1");
    // While it waits, the last host says why: in its rollout's state, in the fleet's registry, in status.
    const waiting = await eventually("the third host waiting for its wave", async () => {
      const s = await rolloutOf(third, "1.1");
      return s?.status === "waiting" && /^waiting for wave 3 of /.test(s.waitReason ?? "") ? s : undefined;
    });
    expect(waiting.waitReason).toMatch(new RegExp(`^waiting for wave 3 of ${pkg} 1.1: (canary host fwav-2|wave 2 host fwav-0) (has not rolled it out yet|waits for its turn|is rolling it out|baking until \\d\\d:\\d\\d:\\d\\d UTC)$`));
    const status = await third.cli("status");
    expect(status.stdout).toContain(`waiting for wave 3 of ${pkg} 1.1`);

    const done = await Promise.all([canary, second, third].map((h) => ended(h, "1.1")));
    expect(done.map((d) => d.status)).toEqual(["completed", "completed", "completed"]);
    const [j0, j1, j2] = [canary, second, third].map((h, i) => journalOf(h, done[i]!.id));
    // Host after host: each one's first restart after the previous host completed and baked.
    expect(ts(j1!, "step.begin") - ts(j0!, "rollout.completed")).toBeGreaterThanOrEqual(BAKE_MS - 100);
    expect(ts(j2!, "step.begin") - ts(j1!, "rollout.completed")).toBeGreaterThanOrEqual(BAKE_MS - 100);
    expect(j0!.some((e) => e.type === "rollout.waiting")).toBe(false);
    expect(j1!.find((e) => e.type === "rollout.waiting")?.data["reason"]).toMatch(new RegExp(`^waiting for wave 2 of ${pkg} 1.1: canary host fwav-2`));

    const verdicts = await canary.cli("fleet", "verdicts", "--json");
    expect(verdicts.exitCode, verdicts.stderr).toBe(0);
    const v = (JSON.parse(verdicts.stdout) as VerdictsDocument).versions.find((x) => x.package === pkg && x.version === "1.1")!;
    expect(v.status).toBe("passed");
    expect(v.verdict).toBeNull();
    expect(v.waves.map((w) => w.map((h) => [h.host, h.state, h.restarted]))).toEqual([[["fwav-2", "passed", 1]], [["fwav-0", "passed", 1]], [["fwav-1", "passed", 1]]]);

    // The fleet report: each wave's host, when it started restarting and was through, from the fleet stream.
    const report = await second.cli("report", "--fleet", `${pkg}=1.1`, "--format", "json");
    expect(report.exitCode, report.stderr).toBe(0);
    const r = JSON.parse(report.stdout) as { status: string; trimmed: boolean; waves: { host: string; state: string; startedAt: string; endedAt: string }[][] };
    expect(r).toMatchObject({ status: "passed", trimmed: false });
    const flat = r.waves.flat();
    expect(flat.map((h) => [h.host, h.state])).toEqual([["fwav-2", "passed"], ["fwav-0", "passed"], ["fwav-1", "passed"]]);
    for (let i = 1; i < flat.length; i++) expect(Date.parse(flat[i]!.startedAt)).toBeGreaterThanOrEqual(Date.parse(flat[i - 1]!.endedAt) + BAKE_MS);
  });

  it("a broken version fails on the canary host; the others restart nothing for it until fleet release", async () => {
    const before = await Promise.all([second, third].map(pidOf));
    await upgrade("2.0");
    const halted = await ended(canary, "2.0");
    expect(halted.status).toBe("halted");

    const held = new RegExp(`^${pkg} 2.0 failed on fwav-2 \\(rollout ${halted.id}, container ${canary.h.containers[0]!.name}: rolled-back: .*\\); held fleet-wide until a human decides: patchroll fleet release ${pkg}=2.0`);
    for (const host of [second, third]) {
      await eventually(`${host.h.env.config.hostId} holds 2.0`, async () => {
        const s = await rolloutOf(host, "2.0");
        return s?.status === "waiting" && held.test(s.waitReason ?? "") ? s : undefined;
      });
    }
    const verdicts = await second.cli("fleet", "verdicts", "--json");
    expect(verdicts.exitCode).toBe(7);
    const v = (JSON.parse(verdicts.stdout) as VerdictsDocument).versions.find((x) => x.version === "2.0")!;
    expect(v).toMatchObject({ status: "failed", verdict: { state: "failed", host: "fwav-2", rollout: halted.id, container: canary.h.containers[0]!.name } });
    expect((await second.cli("fleet", "verdicts")).stdout).toMatch(new RegExp(`${pkg}=2.0\\s+FAILED\\s+1:fwav-2=failed 2:fwav-0=waiting 3:fwav-1=waiting\\s+fwav-2 rollout`));

    const status = await third.cli("fleet", "status");
    expect(status.exitCode).toBe(8);
    expect(status.stdout).toContain(`!! ${pkg}=2.0 failed on fwav-2 (rollout ${halted.id}, container ${canary.h.containers[0]!.name}: rolled-back:`);
    expect(status.stdout).toMatch(/runbook: .*runbooks\/fleet-version-held\.md/);

    // Held for a while: nothing restarted, nothing journaled as a step.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await Promise.all([second, third].map(pidOf))).toEqual(before);
    for (const host of [second, third]) expect(journalOf(host, (await rolloutOf(host, "2.0"))!.id).filter((e) => e.type === "step.begin")).toEqual([]);

    const release = await second.cli("fleet", "release", `${pkg}=2.0`, "--why", "the test lets it go");
    expect(release.exitCode, release.stderr).toBe(0);
    // The second host goes on (and fails as well: it is broken), the release journaled with who and why.
    const next = await ended(second, "2.0");
    expect(next.status).toBe("halted");
    const j = journalOf(second, next.id);
    expect(j.find((e) => e.type === "fleet.released")?.data).toMatchObject({ version: `${pkg}=2.0`, who: "oncall-test", why: "the test lets it go" });
    expect(ts(j, "step.begin")).toBeGreaterThan(ts(j, "fleet.released"));
    // Its failure holds the version again: the third host still restarted nothing.
    await eventually("the third host held by the second host's failure", async () => {
      const s = await rolloutOf(third, "2.0");
      return s?.status === "waiting" && (s.waitReason ?? "").includes(`${pkg} 2.0 failed on fwav-0`) ? s : undefined;
    });
    expect(await pidOf(third)).toBe(before[1]);

    // The operator ends the held rollout (as when a fixed version is installed): it ends at once, and holds nothing more.
    const held3 = (await rolloutOf(third, "2.0"))!;
    expect((await third.cli("rollouts", "abort", held3.id, "--why", "the fix is installed")).exitCode).toBe(0);
    expect((await ended(third, "2.0")).status).toBe("aborted");
    expect(await pidOf(third)).toBe(before[1]);
    const after = (JSON.parse((await third.cli("fleet", "verdicts", "--json")).stdout) as VerdictsDocument).versions.find((x) => x.version === "2.0")!;
    expect(after.verdict).toMatchObject({ state: "failed", host: "fwav-0" });

    const md = (await third.cli("report", "--fleet", `${pkg}=2.0`)).stdout;
    expect(md).toContain(`# ${pkg} 2.0 across the fleet`);
    expect(md).toContain(`**Held by a failed rollout:** fwav-0, rollout \`${next.id}\``);
    expect(md).toContain("**release** by oncall-test (on fwav-0): the test lets it go");
  });

  it("an operator's hold and release are journaled with who and why; a bad PKG=VERSION is named", async () => {
    const hold = await canary.cli("fleet", "hold", `${pkg}=9.9`, "--why", "known bad upstream");
    expect(hold.exitCode, hold.stderr).toBe(0);
    expect(hold.stdout).toContain(`${pkg}=9.9: hold recorded (by oncall-test); now held`);
    const bad = await canary.cli("fleet", "hold", "not a version", "--why", "x");
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('"not a version" is not PACKAGE=VERSION');
    const nothing = await canary.cli("fleet", "release", `${pkg}=1.1`, "--why", "x");
    expect(nothing.exitCode).toBe(4);
    const c = canary.h.env.config;
    const lines = readJournal(join(c.journalDir, ".fleet", c.hostId, "actions.jsonl")).entries;
    expect(lines.at(-1)).toMatchObject({ type: "fleet.hold", data: { who: "oncall-test", why: "known bad upstream", subject: `${pkg}=9.9` } });
  });
});
