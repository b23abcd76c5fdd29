import { mkdirSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { PatchrollError } from "../errors/patchroll-error.js";
import { runToolOk } from "../proc/tool-failure.js";
import { mountAt, readMountInfo, rootBindMounts } from "./mountinfo.js";

const MOUNT_TIMEOUT_MS = 10_000;
const run = (file: string, args: string[]) => runToolOk(file, args, { timeoutMs: MOUNT_TIMEOUT_MS, killAfterMs: 2000 });

/** True when `/proc/self/mountinfo` shows `hostRoot` as a bind mount of `/`. */
export function isHostRootMounted(hostRoot: string): boolean {
  return rootBindMounts(readMountInfo()).has(resolve(hostRoot));
}

/**
 * Makes `hostRoot` a bind mount of `/`, the lower layer every container shares. Idempotent: an existing
 * bind of `/` there is kept. The mount is made private so it never propagates into other mount namespaces.
 * It is not read-only: LXC 5.0.2 fails to start an overlay whose lower layer is a read-only bind (measured).
 * Throws `CONTAINER_FAILED` when something else is mounted at `hostRoot`.
 * @returns whether this call created the mount.
 */
export async function ensureHostRoot(hostRoot: string): Promise<{ mounted: boolean }> {
  if (!isAbsolute(hostRoot)) throw new PatchrollError("CONTAINER_INVALID", `host root ${JSON.stringify(hostRoot)} must be an absolute path; fix lxc.hostRoot in the config.`);
  const path = resolve(hostRoot);
  if (isHostRootMounted(path)) return { mounted: false };
  const other = mountAt(readMountInfo(), path);
  if (other !== undefined) {
    throw new PatchrollError("CONTAINER_FAILED", `${path} already has a ${other.fsType} mount of ${other.source} that is not a bind mount of /; unmount it (umount ${path}) or set lxc.hostRoot to another directory.`);
  }
  mkdirSync(path, { recursive: true });
  try {
    await run("mount", ["--bind", "/", path]);
    await run("mount", ["--make-private", path]);
  } catch (err) {
    throw new PatchrollError("CONTAINER_FAILED", `could not bind-mount / at ${path}: ${(err as Error).message}; patchroll must run as root.`, { cause: err });
  }
  return { mounted: true };
}

/**
 * Unmounts the host root bind mount (tests, destroy-all). Idempotent. Containers still running on it keep
 * their own reference to the lower layer, but new starts fail until {@link ensureHostRoot} runs again.
 */
export async function releaseHostRoot(hostRoot: string): Promise<void> {
  const path = resolve(hostRoot);
  for (let i = 0; i < 8 && mountAt(readMountInfo(), path) !== undefined; i++) {
    if (!isHostRootMounted(path)) {
      throw new PatchrollError("CONTAINER_FAILED", `${path} holds a mount that is not a bind of /; patchroll leaves it alone. Unmount it yourself if it is stale.`);
    }
    try {
      await run("umount", [path]);
    } catch (err) {
      throw new PatchrollError("CONTAINER_FAILED", `could not unmount the host root at ${path}: ${(err as Error).message}; find users with fuser -vm ${path}.`, { cause: err });
    }
  }
  if (mountAt(readMountInfo(), path) !== undefined) throw new PatchrollError("CONTAINER_FAILED", `${path} is still mounted after 8 umount calls; unmount it by hand.`);
}
