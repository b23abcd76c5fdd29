import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { isHostRootMounted, releaseHostRoot } from "../containers/host-root.js";
import { destroyContainer } from "../containers/provision.js";
import { isContainerName } from "../containers/name.js";

/** Removes everything the demo made: containers, the demo package, the host root bind mount, its files. */
export async function cleanupDemo(base: string, pkg: string): Promise<void> {
  const lxcPath = join(base, "lxc");
  for (const name of existsSync(lxcPath) ? readdirSync(lxcPath) : []) {
    if (isContainerName(name) && existsSync(join(lxcPath, name, "config"))) await destroyContainer(lxcPath, name, { stopTimeoutSec: 5 });
  }
  const status = await execa("dpkg-query", ["-W", "-f=${Status}", pkg], { reject: false });
  if (status.stdout.includes("installed")) await execa("dpkg", ["--purge", pkg], { timeout: 120_000 });
  const hostRoot = join(lxcPath, "host", "rootfs");
  if (isHostRootMounted(hostRoot)) await releaseHostRoot(hostRoot);
  // Never remove a tree with a mount inside (the host root bind mount would take the host with it).
  if (!isHostRootMounted(hostRoot)) rmSync(base, { recursive: true, force: true });
}
