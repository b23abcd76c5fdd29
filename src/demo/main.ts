import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { LxcDriver } from "../containers/lxc-driver.js";
import { listPins, pinnedPaths } from "../containers/pins.js";
import { createContainer } from "../containers/provision.js";
import { Daemon } from "../daemon/daemon.js";
import { scanHost } from "../detect/scan.js";
import { captureDir } from "../intake/capture.js";
import { createLogger } from "../log/logger.js";
import { connectRedis } from "../queue/connection.js";
import { RolloutStore, type RolloutState } from "../rollout/rollout-store.js";
import { table } from "../cli/output.js";
import { loadRolloutReport } from "../report/load-report.js";
import { renderRolloutReport } from "../report/render.js";
import { cleanupDemo } from "./cleanup.js";
import { HermeticApt } from "./hermetic-apt.js";
import { Narrator } from "./narrator.js";
import { buildDemoPackage, demoLibraryPath, LocalRepo } from "./package-fixture.js";

/** Everything the demo makes lives under this directory (on the root filesystem, as overlay needs). */
export const DEMO_BASE = "/var/lib/patchroll-demo";
export const DEMO_PACKAGE = "prdemo";
const CONTAINERS = [
  { name: "demo-web-1", group: "web", canary: true },
  { name: "demo-api-1", group: "api", canary: false },
  { name: "demo-web-2", group: "web", canary: false },
  { name: "demo-api-2", group: "api", canary: false },
];
const FIRST_PORT = 18_480;

function demoConfig(): Config {
  const flags = {
    hostId: "demo",
    stateDir: join(DEMO_BASE, "state"),
    spoolDir: join(DEMO_BASE, "spool"),
    journalDir: join(DEMO_BASE, "journal"),
    lxc: { path: join(DEMO_BASE, "lxc"), hostRoot: join(DEMO_BASE, "lxc", "host", "rootfs"), stopTimeoutSec: 5 },
    rollout: { batches: [1, "100%"], bakeMs: 1500, healthIntervalMs: 100, healthyAfter: 2, unhealthyAfter: 3, healthTimeoutMs: 5000 },
  };
  mkdirSync(DEMO_BASE, { recursive: true, mode: 0o755 });
  // The same settings as a file, so the CLI can explore the demo afterwards.
  writeFileSync(join(DEMO_BASE, "config.yaml"), `# patchroll demo configuration (written by npm run demo)\n${JSON.stringify(flags, null, 2)}\n`);
  return loadConfig({ env: {}, file: join(DEMO_BASE, "config.yaml") }).config;
}

/** The README's main command: the whole product on real containers, in about a minute. */
export async function runDemo(n: Narrator): Promise<void> {
  n.heading("patchroll demo: real LXC overlay containers, a real apt repository, real unattended-upgrades");
  if (existsSync(DEMO_BASE)) {
    n.say(`removing what an earlier demo left in ${DEMO_BASE}`);
    await cleanupDemo(DEMO_BASE, DEMO_PACKAGE);
  }
  const config = demoConfig();
  const work = join(DEMO_BASE, "packages");
  const repo = new LocalRepo(join(DEMO_BASE, "repo"), { origin: "patchroll-demo", label: "patchroll-demo-security", suite: "demo-security", codename: "demo" });
  n.say(`building ${DEMO_PACKAGE} 1.0, 1.1 (fixes CVE-2026-41001 and CVE-2026-41002) and 2.0 (fixes CVE-2026-41777, but its library kills every process that loads it)`);
  const debs = {
    v10: await buildDemoPackage({ dir: work, name: DEMO_PACKAGE, version: "1.0" }),
    v11: await buildDemoPackage({ dir: work, name: DEMO_PACKAGE, version: "1.1", cves: ["CVE-2026-41001", "CVE-2026-41002"], history: [{ version: "1.0" }] }),
    v20: await buildDemoPackage({ dir: work, name: DEMO_PACKAGE, version: "2.0", broken: true, cves: ["CVE-2026-41777"], history: [{ version: "1.1", cves: ["CVE-2026-41001", "CVE-2026-41002"] }, { version: "1.0" }] }),
  };
  await repo.add(debs.v10);
  await repo.publish();
  const apt = new HermeticApt({ root: join(DEMO_BASE, "apt"), repo, hooks: { spoolDir: config.spoolDir, captureDir: captureDir(config.stateDir) } });
  await apt.update();
  n.say(`apt repository ${repo.dir} (origin ${repo.identity.origin}, label ${repo.identity.label}: a security origin for unattended-upgrades)`);
  await mustSucceed(apt.install([`${DEMO_PACKAGE}=1.0`]), "apt-get install");
  n.say(`installed ${DEMO_PACKAGE} 1.0 on the host with apt-get (patchroll's apt hooks configured)`);

  const driver = new LxcDriver(config.lxc.path);
  for (const [i, c] of CONTAINERS.entries()) {
    const port = FIRST_PORT + i;
    mkdirSync(join(config.lxc.path, c.name, "delta0", "srv", "www"), { recursive: true });
    writeFileSync(join(config.lxc.path, c.name, "delta0", "srv", "www", "health"), `ok from ${c.name}\n`);
    await createContainer(
      {
        name: c.name,
        lxcPath: config.lxc.path,
        hostRoot: config.lxc.hostRoot,
        service: ["/bin/busybox", "httpd", "-f", "-p", `127.0.0.1:${port}`, "-h", "/srv/www"],
        env: { LD_PRELOAD: demoLibraryPath(DEMO_PACKAGE) },
        hide: [DEMO_BASE],
        meta: { v: 1, group: c.group, canary: c.canary, health: [{ type: "http", url: `http://127.0.0.1:${port}/health`, expectStatus: 200, timeoutMs: 1000 }] },
      },
      driver,
    );
    await driver.start(c.name);
  }
  n.say(`started ${CONTAINERS.length} containers, each an overlay of the host root + its own delta, each serving HTTP through a process that loads lib${DEMO_PACKAGE}:`);
  n.block(table(["CONTAINER", "GROUP", "HEALTH CHECK"], CONTAINERS.map((c, i) => [c.name + (c.canary ? " (canary)" : ""), c.group, `http://127.0.0.1:${FIRST_PORT + i}/health`])));

  const logger = createLogger("error");
  const daemon = new Daemon(config, logger, { driver });
  await daemon.start();
  n.say(`patchroll daemon started: embedded redis-server on a unix socket under ${config.stateDir} (no TCP port), spool ${config.spoolDir}`);
  const redis = await connectRedis(config, "client");
  const store = new RolloutStore(redis, config);
  try {
    n.heading("Act 1: unattended-upgrades installs a security fix");
    await repo.add(debs.v11);
    await repo.publish();
    await apt.update();
    n.say(`published ${DEMO_PACKAGE} 1.1; running a real unattended-upgrade`);
    const act1 = new Date().toISOString();
    const uu1 = await mustSucceed(unattendedUpgrade(apt), "unattended-upgrade");
    n.say(`unattended-upgrade finished (exit ${uu1.exitCode}); the hook spooled the change, the daemon made it one event and one rollout`);
    const first = await follow(n, store, act1, config);
    n.say("patchroll scan after the rollout:");
    await printScan(n, config);

    n.heading("Act 2: a broken update");
    await repo.add(debs.v20);
    await repo.publish();
    await apt.update();
    n.say(`published ${DEMO_PACKAGE} 2.0, whose library makes every process that loads it exit; running unattended-upgrade`);
    const act2 = new Date().toISOString();
    await mustSucceed(unattendedUpgrade(apt), "unattended-upgrade");
    const second = await follow(n, store, act2, config);
    n.say("pins (containers running old package files on purpose):");
    n.block(table(["CONTAINER", "PINNED TO"], listPins(config.stateDir).map((p) => [p.container, p.packages.map((x) => `${x.name} ${x.version}`).join(", ")])));
    n.say("patchroll scan now:");
    await printScan(n, config);

    n.heading("Reports");
    const reportsDir = join(DEMO_BASE, "reports");
    mkdirSync(reportsDir, { recursive: true });
    const src = { journalDir: config.journalDir, hostId: config.hostId };
    for (const r of [first, second]) {
      const report = await loadRolloutReport(src, r.id);
      for (const format of ["md", "html"] as const) writeFileSync(join(reportsDir, `${r.id}.${format}`), renderRolloutReport(report, format));
    }
    n.say(`post-incident reports, built from the journals alone, in ${reportsDir}/:`);
    n.block([`${first.id}.md / .html   the security fix, patched in 2 batches`, `${second.id}.md / .html   the broken update, rolled back and halted`].join("\n"));

    n.heading("Explore");
    const cli = `bin/patchroll -c ${join(DEMO_BASE, "config.yaml")}`;
    n.block(
      [
        `journals (write-ahead, one line per step): ${join(config.journalDir, config.hostId)}/`,
        `${cli} report ${second.id}      # the story of the halted rollout, in the terminal`,
        `${cli} rollouts show ${first.id}     # the successful rollout, step by step`,
        `${cli} rollouts show ${second.id}     # the halted one, with its rollback`,
        `${cli} scan                 # verdict per container, with evidence`,
        `${cli} pins                 # who runs old files on purpose; unpin CONTAINER to release`,
        `${cli} containers list`,
        `${cli} journal verify`,
        "npm run demo -- --cleanup   # remove every container, package and file the demo made",
      ].join("\n"),
    );
    n.say(`demo finished in ${n.elapsedSec().toFixed(0)} s; containers keep running until --cleanup`);
  } finally {
    redis.disconnect();
    await daemon.stop(5000);
  }
}

/**
 * A real unattended-upgrade run. Like the nightly service, it gives up at once when another package
 * manager holds the dpkg lock; the demo waits for the lock instead (up to a minute).
 */
async function unattendedUpgrade(apt: HermeticApt): Promise<Awaited<ReturnType<HermeticApt["unattendedUpgrade"]>>> {
  const log = join(apt.uuLogDir, "unattended-upgrades.log");
  for (let attempt = 0; ; attempt++) {
    const r = await apt.unattendedUpgrade();
    const locked = r.exitCode !== 0 && existsSync(log) && readFileSync(log, "utf8").trimEnd().split("\n").at(-1)?.includes("Lock could not be acquired") === true;
    if (!locked || attempt >= 60) return r;
    await sleep(1000);
  }
}

async function mustSucceed<T extends { exitCode?: number | undefined; stderr: string }>(p: Promise<T>, what: string): Promise<T> {
  const r = await p;
  if (r.exitCode !== 0) throw new Error(`${what} failed (exit ${r.exitCode}): ${r.stderr}`);
  return r;
}

/** Prints the progress of the first rollout of an apt run that started after `since`, until it ends. */
async function follow(n: Narrator, store: RolloutStore, since: string, config: Config): Promise<RolloutState> {
  const deadline = Date.now() + 120_000;
  let printedOutcomes = 0;
  let lastBatch = 0;
  let scanned = false;
  for (;;) {
    const state = (await store.list(10)).filter((s) => s.createdAt >= since).at(-1);
    if (state !== undefined) {
      if ((state.batch ?? 0) > lastBatch) {
        lastBatch = state.batch ?? 0;
        n.say(`rollout ${state.id}: batch ${lastBatch}/${state.batches} started (${state.packages.join(", ")})`);
      }
      for (const o of (state.outcomes ?? []).slice(printedOutcomes)) n.say(`  ${o.container}: ${o.outcome} (${o.reason})`);
      printedOutcomes = state.outcomes?.length ?? 0;
      if (!scanned && lastBatch === 1 && printedOutcomes === 1 && state.status === "running" && config.rollout.bakeMs > 0) {
        scanned = true;
        n.say("while the canary bakes, patchroll scan shows who still runs the old library (no \"(deleted)\" in their maps):");
        await printScan(n, config);
      }
      if (state.status === "completed" || state.status === "halted") {
        n.say(`rollout ${state.id} ${state.status.toUpperCase()}${state.haltReason ? `: ${state.haltReason}` : `: ${state.done} containers in ${state.batches} batches`}`);
        return state;
      }
    }
    if (Date.now() > deadline) throw new Error("the rollout did not finish within 120 s; see patchroll rollouts list");
    await sleep(100);
  }
}

async function printScan(n: Narrator, config: Config): Promise<void> {
  const found = await scanHost({ lxcPath: config.lxc.path, hostRoot: config.lxc.hostRoot }, { packages: [DEMO_PACKAGE], pinnedPathsOf: (c) => pinnedPaths(config.stateDir, c) });
  n.block(
    table(
      ["CONTAINER", "VERDICT", "EVIDENCE"],
      found
        .filter((f) => f.info.managed)
        .map(({ scan }) => {
          const s = scan.stale[0];
          const evidence = s !== undefined ? `pid ${s.pid} (${s.comm}) maps ${s.path} inode ${s.mappedInode}; host file is inode ${s.hostInode ?? "gone"}` : scan.pinned.length > 0 ? `old files pinned in its delta: ${scan.pinned.map((p) => p.path).join(", ")}` : "";
          return [scan.name, scan.verdict, evidence];
        }),
    ),
  );
}
