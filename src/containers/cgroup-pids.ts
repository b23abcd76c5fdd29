import { readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { readMountInfo } from "./mountinfo.js";

let unifiedMount: string | null | undefined;

/** Where the cgroup v2 hierarchy is mounted: `/sys/fs/cgroup` (unified) or `/sys/fs/cgroup/unified` (hybrid). */
function cgroup2Mount(): string | null {
  if (unifiedMount === undefined) unifiedMount = readMountInfo().find((m) => m.fsType === "cgroup2")?.mountPoint ?? null;
  return unifiedMount;
}

/**
 * The directory of the container's payload cgroup, from its init's `/proc/PID/cgroup`: the v1 `pids`
 * hierarchy when mounted, else the unified one. A sub-cgroup the payload created (`/init.scope`) is cut
 * back to the `lxc.payload.NAME` level so sibling cgroups are counted too.
 */
export function payloadCgroupDir(cgroupText: string, mounts: { v1Pids: string; v2: string | null }): string | undefined {
  let v1: string | undefined;
  let v2: string | undefined;
  for (const line of cgroupText.split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (m === null) continue;
    const [, hier, controllers, path] = m as unknown as [string, string, string, string];
    if (controllers.split(",").includes("pids")) v1 = path;
    else if (hier === "0" && controllers === "") v2 = path;
  }
  const cut = (p: string) => {
    const parts = p.split("/");
    const i = parts.findIndex((s) => s.startsWith("lxc.payload."));
    return i < 0 ? p : parts.slice(0, i + 1).join("/");
  };
  if (v1 !== undefined) return join(mounts.v1Pids, cut(v1));
  if (v2 !== undefined && mounts.v2 !== null) return join(mounts.v2, cut(v2));
  return undefined;
}

function collect(dir: string, out: Set<number>): void {
  let text: string;
  try {
    text = readFileSync(join(dir, "cgroup.procs"), "utf8");
  } catch {
    return;
  }
  for (const line of text.split("\n")) if (line !== "") out.add(Number(line));
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) collect(join(dir, e.name), out);
}

/**
 * Every process of the container whose init is `initPid` (host pids, sorted), read from its cgroup
 * (nested cgroups included). Empty when the init has exited.
 */
export function cgroupPids(initPid: number): number[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${initPid}/cgroup`, "utf8");
  } catch {
    return [];
  }
  const dir = payloadCgroupDir(text, { v1Pids: "/sys/fs/cgroup/pids", v2: cgroup2Mount() });
  const out = new Set<number>();
  if (dir !== undefined) {
    try {
      collect(dir, out);
    } catch {
      // The cgroup went away while we walked it: the container stopped.
    }
  }
  if (out.size === 0) out.add(initPid);
  return [...out].sort((a, b) => a - b);
}

/**
 * Removes the cgroups LXC sometimes leaves behind for a stopped container (`lxc.monitor.NAME`,
 * `lxc.payload.NAME`, seen on cgroup v1 after a stop). rmdir only succeeds on an empty cgroup, so a
 * live one is never touched. Best effort.
 */
export function removeLeftoverCgroups(name: string): void {
  const roots = ["/sys/fs/cgroup"];
  try {
    for (const e of readdirSync("/sys/fs/cgroup", { withFileTypes: true })) if (e.isDirectory()) roots.push(join("/sys/fs/cgroup", e.name));
  } catch {
    return;
  }
  for (const root of roots) {
    for (const dir of [`lxc.monitor.${name}`, `lxc.payload.${name}`]) {
      try {
        rmdirSync(join(root, dir));
      } catch {
        // absent, or still in use
      }
    }
  }
}
