import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { HermeticApt, type AptResult } from "../../src/demo/hermetic-apt.js";
import { LocalRepo } from "../../src/demo/package-fixture.js";
import { connectRedis } from "../../src/queue/connection.js";
import { closeQueues, openQueues } from "../../src/queue/queues.js";
import { withDpkgLock } from "../helpers/dpkg-lock.js";
import { uniqueHostId } from "../helpers/redis.js";
import { recap, runRole } from "./ansible-run.js";
import { frozenCheckout } from "./frozen-checkout.js";
import { parseUnit, startUnit, type UnitProcess } from "./unit-process.js";

const run = (file: string, args: string[], env?: Record<string, string>) =>
  execa(file, args, { reject: false, all: true, timeout: 300_000, forceKillAfterDelay: 5_000, ...(env !== undefined ? { env } : {}) });
const mode = (path: string) => (statSync(path).mode & 0o7777).toString(8).padStart(4, "0");

const SNIPPET = "/etc/apt/apt.conf.d/50patchroll";
const UNIT = "/lib/systemd/system/patchroll.service";
const WANTS = "/etc/systemd/system/multi-user.target.wants/patchroll.service";
const TIMER_WANTS = "/etc/systemd/system/timers.target.wants/patchroll-journal-prune.timer";
const V1 = "0.1.0+test1";
const V2 = "0.1.0+test2";
/** Everything the package or its scripts may leave on the machine. */
const PACKAGE_PATHS = ["/usr/lib/patchroll", "/etc/patchroll", "/var/lib/patchroll", "/var/spool/patchroll", "/var/log/patchroll", SNIPPET, `${SNIPPET}.dpkg-disabled`, "/etc/cron.daily/patchroll"];
/** ... and the Ansible role's copy of the .deb: all removed after the test whatever happens. */
const MACHINE_PATHS = [...PACKAGE_PATHS, "/var/cache/patchroll"];

const dpkgStatus = async () => (await run("dpkg-query", ["-W", "-f", "${Status} ${Version}", "patchroll"])).stdout.trim();
/** apt's effective configuration as the machine's own apt sees it (/etc/apt/apt.conf.d). */
const machineAptConfig = async () => (await run("apt-config", ["dump"])).stdout;

/**
 * The .deb from deploy/debian/build.sh, for real, on this machine's real paths: the Ansible role installs it
 * (deb method), apt upgrades it from a local repository with patchroll's own apt hooks active (the
 * installed snippet is linked into the test apt's configuration), removes, reinstalls and purges it. The machine-wide dpkg test lock is
 * held from start to end, so no other test's apt run ever sees the installed snippet.
 */
describe("the Debian package of patchroll", () => {
  let work: string;
  let checkout: string;
  let apt: HermeticApt;
  let release: (() => void) | undefined;
  let ours = false;
  let daemon: UnitProcess | undefined;
  const hostId = uniqueHostId("deb");
  const results: Record<string, AptResult> = {};
  const debs: string[] = [];

  const daemonEnv = () => ({
    PATCHROLL_HOST_ID: hostId,
    PATCHROLL_LXC_PATH: join(work, "lxc"),
    PATCHROLL_LXC_HOST_ROOT: join(work, "lxc/host/rootfs"),
    PATCHROLL_HTTP_PORT: "0",
    // The storm this guards against: with select=all, any package change restarts every container.
    PATCHROLL_ROLLOUT_SELECT: "all",
  });
  const cli = (...args: string[]) => run("/usr/bin/patchroll", args, { ...daemonEnv(), PATH: "/usr/sbin:/usr/bin:/sbin:/bin" });

  beforeAll(async () => {
    // Building needs no lock: the machine-wide dpkg test lock is held only from the first install on.
    work = mkdtempSync("/var/tmp/patchroll-test-deb-");
    mkdirSync(join(work, "lxc"));
    const repo = new LocalRepo(join(work, "repo"), { origin: "patchroll-test", label: "patchroll-test", suite: "stable", codename: "prtest" });
    checkout = frozenCheckout(work);
    for (const version of [V1, V2]) {
      const built = await run(join(checkout, "deploy/debian/build.sh"), ["--version", version, "--out", join(work, "debs"), "--compress", "zstd"]);
      expect(built.exitCode, built.all).toBe(0);
      debs.push(built.stdout.trim());
      await repo.add(built.stdout.trim());
    }
    await repo.publish();
    apt = new HermeticApt({ root: join(work, "apt"), repo });
    await apt.update();
    await new Promise<void>((acquired) => {
      void withDpkgLock(() => new Promise<void>((done) => { release = done; acquired(); }));
    });
    if ((await dpkgStatus()) !== "" || existsSync("/usr/lib/patchroll") || existsSync(SNIPPET)) {
      throw new Error("patchroll is already installed on this machine (dpkg, /usr/lib/patchroll or the apt snippet): this test installs and purges the real package, so it refuses to run here.");
    }
    ours = true;
  }, 300_000);

  afterAll(async () => {
    try {
      if (daemon !== undefined) {
        daemon.child.kill("SIGKILL");
        await daemon.child;
      }
      if (ours) {
        if ((await dpkgStatus()) !== "") await run("dpkg", ["--purge", "patchroll"], { DEBIAN_FRONTEND: "noninteractive", PATH: "/usr/sbin:/usr/bin:/sbin:/bin" });
        for (const p of MACHINE_PATHS) rmSync(p, { recursive: true, force: true });
      }
      if (work !== undefined) rmSync(work, { recursive: true, force: true });
    } finally {
      release?.();
    }
  }, 300_000);

  it("installs through the Ansible role from the .deb (check mode first): program, state dirs, config, enabled unit, apt hooks", async () => {
    const vars = { patchroll_install_method: "deb", patchroll_deb: debs[0], patchroll_manage_service: false };
    const check = await runRole(join(work, "ansible"), vars, "--check");
    expect(check.exitCode, check.all).toBe(0);
    expect(await dpkgStatus()).toBe("");
    const real = await runRole(join(work, "ansible"), vars);
    expect(real.exitCode, real.all).toBe(0);
    expect(await dpkgStatus()).toBe(`install ok installed ${V1}`);
    const again = await runRole(join(work, "ansible"), vars);
    expect(recap(again.all)).toMatchObject({ changed: 0, failed: 0 });
    expect((await run("/usr/bin/patchroll", ["--version"])).stdout).toBe("0.1.0");
    expect(mode("/var/lib/patchroll")).toBe("0700");
    expect(mode("/var/lib/patchroll/capture")).toBe("0750");
    expect(mode("/var/spool/patchroll")).toBe("0750");
    expect(mode("/var/log/patchroll")).toBe("0750");
    expect(mode("/etc/patchroll/config.yaml")).toBe("0640");
    expect(readFileSync(SNIPPET, "utf8")).toBe(readFileSync(join(checkout, "deploy/apt/50patchroll"), "utf8"));
    expect(readlinkSync(WANTS)).toBe(UNIT);
    expect(readlinkSync(TIMER_WANTS)).toBe("/lib/systemd/system/patchroll-journal-prune.timer");
    const verify = await run("dpkg", ["--verify", "patchroll"]);
    expect(verify.all).toBe("");
    if (existsSync("/usr/bin/systemd-analyze")) {
      const lint = await run("systemd-analyze", ["verify", "--man=no", UNIT, "/lib/systemd/system/patchroll-journal-prune.service", "/lib/systemd/system/patchroll-journal-prune.timer"]);
      expect(lint.all).toBe("");
    }
    // From now on every apt run of this test goes through the hooks the package installed, as on a host.
    symlinkSync(SNIPPET, join(apt.root, "parts", "50patchroll"));
  });

  it("upgrades with apt from the local repository with its own hooks active, keeps an edited config, and its upgrade is one spooled event", async () => {
    writeFileSync("/etc/patchroll/config.yaml", "# edited by the operator\nrollout:\n  bakeMs: 1000\n");
    results["upgrade"] = await apt.install([`patchroll=${V2}`]);
    expect(results["upgrade"].exitCode, results["upgrade"].stderr).toBe(0);
    expect(await dpkgStatus()).toBe(`install ok installed ${V2}`);
    expect(readFileSync("/etc/patchroll/config.yaml", "utf8")).toContain("edited by the operator");

    daemon = startUnit(parseUnit(readFileSync(UNIT, "utf8")), "", daemonEnv());
    await daemon.waitFor("patchroll daemon started");
    // The hooks' record of the upgrade becomes one event (dpkg.log reconciliation may add others, e.g.
    // the first install, made while no daemon ran).
    type Listed = { id: string; packages: { name: string; from: string | null; to: string | null; action: string }[] };
    const upgrades = (events: Listed[]) => events.filter((e) => e.packages.some((p) => p.name === "patchroll" && p.action === "upgrade"));
    let events: Listed[] = [];
    for (let i = 0; i < 300 && upgrades(events).length === 0; i++) {
      events = (JSON.parse((await cli("events", "list", "--json")).stdout) as { events: Listed[] }).events;
      if (upgrades(events).length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(upgrades(events).map((e) => e.packages)).toEqual([[expect.objectContaining({ name: "patchroll", from: V1, to: V2, action: "upgrade" })]]);
    // Let the apt-events worker finish its decision on that event before anyone looks at rollouts.
    const { config } = loadConfig({ env: daemonEnv(), file: "/etc/patchroll/config.yaml" });
    const redis = await connectRedis(config, "client");
    const queues = openQueues(redis, config);
    try {
      for (let i = 0; i < 300; i++) {
        const counts = await queues["apt-events"].getJobCounts("waiting", "active", "delayed", "completed");
        if (counts["completed"]! > 0 && counts["waiting"] === 0 && counts["active"] === 0 && counts["delayed"] === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await closeQueues(queues);
      redis.disconnect();
    }
  });

  it("starts no rollout for its own upgrade", async () => {
    const list = await cli("rollouts", "list", "--json");
    expect(list.exitCode, list.all).toBe(0);
    const rollouts = (JSON.parse(list.stdout) as { rollouts: { packages: string[] }[] }).rollouts;
    expect(rollouts.filter((r) => r.packages.includes("patchroll"))).toEqual([]);
  });

  it("remove disables the apt hooks first and keeps the config; reinstall brings them back", async () => {
    daemon!.child.kill("SIGTERM");
    expect((await daemon!.child).exitCode, daemon!.output()).toBe(0);
    daemon = undefined;
    // `apt-get install NAME-` removes NAME (apt-get(8)).
    results["remove"] = await apt.install(["patchroll-"]);
    expect(await dpkgStatus()).toBe(`deinstall ok config-files ${V2}`);
    expect(existsSync("/usr/lib/patchroll")).toBe(false);
    expect(existsSync(SNIPPET)).toBe(false);
    expect(existsSync(`${SNIPPET}.dpkg-disabled`)).toBe(true);
    expect(await machineAptConfig()).not.toContain("patchroll");
    expect(readFileSync("/etc/patchroll/config.yaml", "utf8")).toContain("edited by the operator");
    expect(existsSync("/var/lib/patchroll")).toBe(true);

    // apt works after the removal (the snippet the test apt links to is gone, as on the machine).
    const reinstall = await apt.install([`patchroll=${V2}`]);
    expect(reinstall.exitCode, reinstall.stderr).toBe(0);
    expect(readFileSync(SNIPPET, "utf8")).toBe(readFileSync(join(checkout, "deploy/apt/50patchroll"), "utf8"));
    expect(existsSync(`${SNIPPET}.dpkg-disabled`)).toBe(false);
    expect(readFileSync("/etc/patchroll/config.yaml", "utf8")).toContain("edited by the operator");
  });

  it("purge removes the package, its hooks, its state and its unit state; apt works afterwards", async () => {
    results["purge"] = await apt.purge(["patchroll"]);
    expect(await dpkgStatus()).toBe("");
    for (const p of PACKAGE_PATHS) expect(existsSync(p), p).toBe(false);
    expect(existsSync("/usr/bin/patchroll")).toBe(false);
    expect(lstatSync(WANTS, { throwIfNoEntry: false })).toBeUndefined();
    expect(lstatSync(TIMER_WANTS, { throwIfNoEntry: false })).toBeUndefined();
    // No hook of patchroll is left in apt's configuration that a later apt run could fail on.
    expect(await machineAptConfig()).not.toContain("patchroll");
  });

  // The apt run that removes patchroll still has its hooks configured (apt read them when it started), and
  // runs DPkg::Post-Invoke after dpkg deleted the hook: the guard in deploy/apt/50patchroll keeps it at 0.
  it("the very apt runs that remove and purge patchroll succeed", () => {
    expect(results["remove"]?.exitCode, results["remove"]?.stderr).toBe(0);
    expect(results["purge"]?.exitCode, results["purge"]?.stderr).toBe(0);
  });
});
