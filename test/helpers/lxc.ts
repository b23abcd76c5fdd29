import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeLeftoverCgroups } from "../../src/containers/cgroup-pids.js";
import { type ContainerInfo, getContainer } from "../../src/containers/discover.js";
import { releaseHostRoot } from "../../src/containers/host-root.js";
import { LxcDriver } from "../../src/containers/lxc-driver.js";
import { mountsUnder, readMountInfo, removeTreeSafely } from "../../src/containers/mountinfo.js";
import { isContainerName } from "../../src/containers/name.js";
import { createContainer, deltaDirOf, destroyContainer } from "../../src/containers/provision.js";
import { freePort } from "./redis-server.js";

/** Options of {@link TestBed.create}; every field has a default. */
export interface TestContainerOptions {
  /** Default `prt-<label>-<random>`. */
  name?: string;
  env?: Record<string, string>;
  group?: string;
  canary?: boolean;
  /** false: /srv/www/health is absent, so the health URL answers 404. Default true. */
  healthy?: boolean;
  /** The busybox binary the service runs (e.g. a copy installed by a test package). Default /bin/busybox. */
  busybox?: string;
  /** More host paths to hide (see ContainerSpec.hide). */
  hide?: string[];
  /** Start it and wait until its HTTP port answers. Default true. */
  start?: boolean;
}

/** One container of a test bed: busybox httpd on 127.0.0.1:port serving /srv/www from its delta. */
export interface TestContainer {
  name: string;
  port: number;
  healthUrl: string;
  deltaDir: string;
  info(): Promise<ContainerInfo>;
  /** Starts it (if stopped) and waits until its HTTP port answers: the service has exec'd. */
  start(): Promise<void>;
}

/** A private LXC path with its own host root bind mount; cleanup() leaves nothing behind. */
export interface TestBed {
  lxcPath: string;
  hostRoot: string;
  driver: LxcDriver;
  create(opts?: TestContainerOptions): Promise<TestContainer>;
  cleanup(): Promise<void>;
}

const MARKER = ".lxc-test-bed";
const live = new Set<string>();
let exitHookInstalled = false;

/** Synchronous last resort (process exit, or a bed whose owner process died): kill, unmount, remove. */
function forceCleanupSync(root: string): void {
  const run = (file: string, args: string[]) => spawnSync(file, args, { stdio: "ignore", timeout: 10_000 });
  for (const e of existsSync(root) ? readdirSync(root) : []) {
    if (!existsSync(join(root, e, "config"))) continue;
    run("lxc-stop", ["-P", root, "-n", e, "-k"]);
    if (isContainerName(e)) removeLeftoverCgroups(e);
  }
  for (let i = 0; i < 8; i++) {
    const inside = mountsUnder(readMountInfo(), root);
    if (inside.length === 0) break;
    for (const m of inside.reverse()) run("umount", [m.mountPoint]);
  }
  // Never rm -r across a mount: a leftover bind of / would take the host with it.
  try {
    removeTreeSafely(root);
  } catch (err) {
    process.stderr.write(`lxc test bed: ${(err as Error).message}\n`);
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const root of live) forceCleanupSync(root);
  });
}

/** Cleans up beds left by test processes that died before their cleanup ran. */
function sweepOrphanedBeds(): void {
  for (const e of readdirSync("/var/tmp")) {
    if (!e.startsWith("patchroll-test-")) continue;
    const marker = join("/var/tmp", e, MARKER);
    if (!existsSync(marker)) continue;
    const pid = Number(readFileSync(marker, "utf8"));
    if (pid > 0 && !existsSync(`/proc/${pid}`)) forceCleanupSync(join("/var/tmp", e));
  }
}

/**
 * An LXC test bed: a private lxcpath under /var/tmp (the root filesystem, so overlay maps show real lower
 * inodes, which stale detection relies on), its own bind mount of / at `LXCPATH/host/rootfs`, and unique
 * container names (cgroup names are global).
 */
export async function lxcTestBed(label: string): Promise<TestBed> {
  if (!/^[a-z0-9][a-z0-9-]{0,29}$/.test(label)) throw new Error(`test bed label ${JSON.stringify(label)}: use 1-30 lowercase letters, digits or '-'`);
  sweepOrphanedBeds();
  installExitHook();
  const lxcPath = mkdtempSync(join("/var/tmp", `patchroll-test-${label}-`));
  writeFileSync(join(lxcPath, MARKER), String(process.pid));
  live.add(lxcPath);
  const hostRoot = join(lxcPath, "host", "rootfs");
  const driver = new LxcDriver(lxcPath);

  const create = async (opts: TestContainerOptions = {}): Promise<TestContainer> => {
    const name = opts.name ?? `prt-${label}-${randomBytes(3).toString("hex")}`;
    const port = await freePort();
    const healthUrl = `http://127.0.0.1:${port}/health`;
    await createContainer({
      name, lxcPath, hostRoot,
      service: [opts.busybox ?? "/bin/busybox", "httpd", "-f", "-p", `127.0.0.1:${port}`, "-h", "/srv/www"],
      ...(opts.env !== undefined ? { env: opts.env } : {}),
      ...(opts.hide !== undefined ? { hide: opts.hide } : {}),
      meta: { v: 1, group: opts.group ?? "default", canary: opts.canary ?? false, health: [{ type: "http", url: healthUrl }] },
    }, driver);
    const deltaDir = deltaDirOf(lxcPath, name);
    mkdirSync(join(deltaDir, "srv/www"), { recursive: true });
    if (opts.healthy !== false) writeFileSync(join(deltaDir, "srv/www/health"), "ok\n");
    const start = async () => {
      await driver.start(name);
      await waitForHttp(healthUrl, 10_000);
    };
    if (opts.start !== false) await start();
    return { name, port, healthUrl, deltaDir, start, info: () => getContainer({ lxcPath, hostRoot, driver }, name) };
  };

  const cleanup = async (): Promise<void> => {
    const errors: unknown[] = [];
    for (const e of existsSync(lxcPath) ? readdirSync(lxcPath) : []) {
      // A name patchroll refuses was never started by it; it goes with the tree.
      if (!existsSync(join(lxcPath, e, "config")) || !isContainerName(e)) continue;
      await destroyContainer(lxcPath, e, { driver, stopTimeoutSec: 5 }).catch((err: unknown) => errors.push(err));
    }
    await releaseHostRoot(hostRoot).catch((err: unknown) => errors.push(err));
    if (errors.length === 0) {
      removeTreeSafely(lxcPath);
      live.delete(lxcPath);
    } else {
      forceCleanupSync(lxcPath);
      live.delete(lxcPath);
      throw new AggregateError(errors, `test bed ${lxcPath} did not clean up cleanly`);
    }
  };

  return { lxcPath, hostRoot, driver, create, cleanup };
}

/** Waits until `url` gives any HTTP answer (a 404 counts: the server is up). */
export async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
