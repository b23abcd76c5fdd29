import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { Redis } from "ioredis";
import { freePort } from "./lxc-fleet.js";

/** A throwaway redis-server on loopback for a benchmark (no persistence: nothing here must survive). */
export async function spawnBenchRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join("/var/tmp", "patchroll-bench-redis-"));
  const child = execa("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"], { reject: false });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on("error", () => {});
    const ok = await c.connect().then(() => c.ping(), () => undefined);
    c.disconnect();
    if (ok === "PONG") break;
    if (i > 200) throw new Error(`redis-server on ${url} did not answer`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url,
    stop: async () => {
      child.kill("SIGTERM");
      await child;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
