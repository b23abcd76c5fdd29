import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { freePort, waitForRedis } from "../helpers/redis-server.js";

/**
 * A redis-server of the test's own that can be stopped and started again on the same port and data dir,
 * with AOF on (`appendfsync always`) as patchroll's Redis should run, so what it acknowledged survives.
 * `cleanup()` stops it and removes its dir; execa's `cleanup` kills it should the test process die.
 */
export class RestartableRedis {
  readonly dir = mkdtempSync(join(tmpdir(), "patchroll-test-redis-restart-"));
  #child: { kill: (signal: NodeJS.Signals) => boolean; exited: Promise<unknown> } | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<RestartableRedis> {
    const r = new RestartableRedis(await freePort());
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  async start(): Promise<void> {
    if (this.#child !== undefined) return;
    const child = execa("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always"], {
      stdio: "ignore",
      cleanup: true,
      reject: false,
      forceKillAfterDelay: 5000,
    });
    this.#child = { kill: (signal) => child.kill(signal), exited: child.then(() => undefined) };
    await waitForRedis(this.url, 10_000);
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    child.kill("SIGTERM");
    await child.exited;
  }

  async cleanup(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
