import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { loadConfig } from "../src/config/load.js";
import type { Config } from "../src/config/schema.js";
import { releaseHostRoot } from "../src/containers/host-root.js";
import { LxcDriver } from "../src/containers/lxc-driver.js";
import { createContainer, deltaDirOf, destroyContainer } from "../src/containers/provision.js";

/** A fleet of real overlay containers for benchmarks: busybox httpd on loopback, one health URL each. */
export interface Fleet {
  lxcPath: string;
  hostRoot: string;
  driver: LxcDriver;
  containers: { name: string; url: string }[];
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === "object" && a !== null ? a.port : 0));
    });
  });
}

/** Creates and starts `n` containers under a private LXC path on the root filesystem. */
export async function startFleet(label: string, n: number): Promise<Fleet> {
  const lxcPath = mkdtempSync(join("/var/tmp", `patchroll-bench-${label}-`));
  const hostRoot = join(lxcPath, "host", "rootfs");
  const driver = new LxcDriver(lxcPath);
  const containers: Fleet["containers"] = [];
  for (let i = 0; i < n; i++) {
    const name = `prb-${label}-${i}`;
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/health`;
    await createContainer(
      {
        name,
        lxcPath,
        hostRoot,
        service: ["/bin/busybox", "httpd", "-f", "-p", `127.0.0.1:${port}`, "-h", "/srv/www"],
        meta: { v: 1, group: i % 2 === 0 ? "a" : "b", health: [{ type: "http", url, expectStatus: 200, timeoutMs: 2000 }] },
      },
      driver,
    );
    mkdirSync(join(deltaDirOf(lxcPath, name), "srv/www"), { recursive: true });
    writeFileSync(join(deltaDirOf(lxcPath, name), "srv/www/health"), "ok\n");
    await driver.start(name);
    containers.push({ name, url });
  }
  for (const c of containers) await untilHealthy(c.url, 10_000);
  return {
    lxcPath,
    hostRoot,
    driver,
    containers,
    destroy: async () => {
      for (const c of containers) await destroyContainer(lxcPath, c.name, { driver, stopTimeoutSec: 5 }).catch(() => {});
      await releaseHostRoot(hostRoot);
      rmSync(lxcPath, { recursive: true, force: true });
    },
  };
}

/** Polls `url` every 2 ms until it answers 200. */
export async function untilHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then((r) => r.status === 200, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} not healthy within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * The configuration of a benchmark's daemon: state, spool and journal under `root`, the bench's Redis, the
 * fleet's LXC path, and these rollout settings (no bake; one passing health check counts).
 */
export function benchConfig(root: string, redisUrl: string, fleet: Pick<Fleet, "lxcPath" | "hostRoot">, rollout: { batches: (number | string)[]; maxParallel: number }): Config {
  return loadConfig({
    env: {},
    flags: {
      hostId: "bench",
      stateDir: join(root, "state"),
      spoolDir: join(root, "spool"),
      journalDir: join(root, "journal"),
      redis: { url: redisUrl },
      lxc: { path: fleet.lxcPath, hostRoot: fleet.hostRoot, stopTimeoutSec: 10 },
      rollout: { select: "all", bakeMs: 0, healthyAfter: 1, healthIntervalMs: 10, ...rollout },
    },
  }).config;
}
