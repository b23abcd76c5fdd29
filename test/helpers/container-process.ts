import { existsSync } from "node:fs";
import { join } from "node:path";
import type { LxcDriver } from "../../src/containers/lxc-driver.js";

/**
 * Starts `command` (a fixed shell command line of the test) in the background inside a running container
 * and waits until it has created `ready` (a container path under /srv, which lives in the delta): then it
 * has loaded what it loads. It stays a process of the container (the attach joins its cgroup).
 */
export async function startInContainer(driver: LxcDriver, c: { name: string; deltaDir: string }, command: string, ready: string, timeoutMs = 10_000): Promise<void> {
  const r = await driver.attach(c.name, ["/bin/sh", "-c", `${command} </dev/null >/dev/null 2>&1 &`], timeoutMs);
  if (r.exitCode !== 0) throw new Error(`could not start ${command} in ${c.name}: ${r.stderr}`);
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(join(c.deltaDir, ready))) {
    if (Date.now() > deadline) throw new Error(`${command} in ${c.name} did not create ${ready} within ${timeoutMs} ms`);
    await new Promise((r2) => setTimeout(r2, 20));
  }
}
