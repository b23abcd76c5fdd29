import { rmSync } from "node:fs";
import { join } from "node:path";
import type { ContainerDriver } from "../../src/containers/driver.js";

/**
 * The real LXC driver, with one container breaking on its next start the way a bad patch breaks it: its
 * health endpoint is gone from the delta right after it starts (the snapshot taken before the start still
 * has it, so the rollback heals it). Everything else is the real driver.
 */
export class BreakOnNextStart implements ContainerDriver {
  readonly runtime: string;
  private armed = false;

  constructor(
    private readonly inner: ContainerDriver,
    private readonly victim: string,
    private readonly deltaDir: string,
  ) {
    this.runtime = inner.runtime;
  }

  arm(): void {
    this.armed = true;
  }

  async start(name: string): Promise<void> {
    await this.inner.start(name);
    if (this.armed && name === this.victim) {
      this.armed = false;
      rmSync(join(this.deltaDir, "srv/www/health"), { force: true });
    }
  }
  stop(name: string, timeoutSec: number) {
    return this.inner.stop(name, timeoutSec);
  }
  state(name: string) {
    return this.inner.state(name);
  }
  initPid(name: string) {
    return this.inner.initPid(name);
  }
  pids(name: string) {
    return this.inner.pids(name);
  }
  attach(name: string, argv: readonly string[], timeoutMs: number) {
    return this.inner.attach(name, argv, timeoutMs);
  }
  async list() {
    if (this.inner.list === undefined) throw new Error("no batch listing");
    return this.inner.list();
  }
}
