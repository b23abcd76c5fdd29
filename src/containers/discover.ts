import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { PatchrollError } from "../errors/patchroll-error.js";
import { cgroupPids } from "./cgroup-pids.js";
import type { ContainerDriver, ContainerState, ContainerStatus } from "./driver.js";
import { LxcDriver } from "./lxc-driver.js";
import { parseLxcConfig, parseOverlayRootfs, rootfsValue } from "./lxc-config.js";
import { type ContainerMeta, readMeta } from "./meta.js";
import { readMountInfo, rootBindMounts } from "./mountinfo.js";
import { assertContainerName, CONTAINER_NAME_RULE, isContainerName } from "./name.js";

/** One LXC container as patchroll sees it. */
export interface ContainerInfo {
  name: string;
  lxcPath: string;
  configPath: string;
  /** An overlay whose lowest layer is the host root: patchroll may restart, snapshot and scan it. */
  managed: boolean;
  /** Why it is not managed, in plain words. */
  unmanagedReason?: string;
  /** The overlay upper dir (the container's own writes). Set whenever the rootfs is an overlay. */
  deltaDir?: string;
  /** Overlay lower dirs, top first; the last one is the bottom layer. Empty when not an overlay. */
  lowerDirs: string[];
  state: ContainerState;
  initPid?: number;
  /** Host pids of every process in the container; empty when not running. */
  pids: number[];
  /** Sidecar metadata (defaults when absent or unreadable). */
  meta: ContainerMeta;
}

/** Where to look; `driver` defaults to an {@link LxcDriver} on `lxcPath`. */
export interface DiscoverOptions {
  lxcPath: string;
  /** The configured host root bind mount (`lxc.hostRoot`). Any other bind mount of `/` counts as well. */
  hostRoot: string;
  driver?: ContainerDriver;
}

const canonical = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
};

/** Names of the containers under `lxcPath`: directories holding a `config` file, sorted. */
function containerNames(lxcPath: string): string[] {
  let entries;
  try {
    entries = readdirSync(lxcPath, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isDirectory() && existsSync(join(lxcPath, e.name, "config"))).map((e) => e.name).sort();
}

interface Layout {
  managed: boolean;
  reason?: string;
  deltaDir?: string;
  lowerDirs: string[];
}

/** Reads the config and decides whether the container is an overlay on the host root. Never throws. */
function layoutOf(configPath: string, hostRoots: ReadonlySet<string>): Layout {
  let text: string;
  try {
    text = readFileSync(configPath, "utf8");
  } catch (err) {
    return { managed: false, reason: `config unreadable: ${(err as Error).message}`, lowerDirs: [] };
  }
  const rootfs = rootfsValue(parseLxcConfig(text));
  if (rootfs === undefined) return { managed: false, reason: "config has no lxc.rootfs.path", lowerDirs: [] };
  const overlay = parseOverlayRootfs(rootfs);
  if (overlay === undefined) return { managed: false, reason: `rootfs is not an overlay (lxc.rootfs.path = ${rootfs})`, lowerDirs: [] };
  const base = { deltaDir: overlay.upperDir, lowerDirs: overlay.lowerDirs };
  const lowest = overlay.lowerDirs[overlay.lowerDirs.length - 1] as string;
  if (!hostRoots.has(canonical(lowest))) {
    return { ...base, managed: false, reason: `lowest overlay layer ${lowest} is not the host root (${[...hostRoots].join(" or ")})` };
  }
  if (!existsSync(overlay.upperDir)) return { ...base, managed: false, reason: `delta ${overlay.upperDir} is missing` };
  return { ...base, managed: true };
}

async function describe(opts: DiscoverOptions, driver: ContainerDriver, name: string, hostRoots: ReadonlySet<string>, status: ContainerStatus | undefined): Promise<ContainerInfo> {
  const configPath = join(opts.lxcPath, name, "config");
  const layout: Layout = isContainerName(name) ? layoutOf(configPath, hostRoots) : { managed: false, reason: `name not allowed by patchroll (${CONTAINER_NAME_RULE})`, lowerDirs: [] };
  let meta: ContainerMeta = { v: 1, group: "default", canary: false, health: [] };
  if (isContainerName(name)) {
    try {
      meta = readMeta(opts.lxcPath, name);
    } catch (err) {
      if (layout.managed) Object.assign(layout, { managed: false, reason: (err as Error).message });
    }
  }
  let state: ContainerState = status?.state ?? "UNKNOWN";
  let initPid = status?.initPid;
  if (status === undefined && isContainerName(name)) {
    try {
      [state, initPid] = await Promise.all([driver.state(name), driver.initPid(name)]);
    } catch {
      state = "UNKNOWN";
    }
  }
  let pids: number[] = [];
  if (initPid !== undefined) pids = cgroupPids(initPid);
  else if (state === "RUNNING") pids = await driver.pids(name).catch(() => []);
  const info: ContainerInfo = { name, lxcPath: opts.lxcPath, configPath, managed: layout.managed, lowerDirs: layout.lowerDirs, state, pids, meta };
  if (layout.reason !== undefined) info.unmanagedReason = layout.reason;
  if (layout.deltaDir !== undefined) info.deltaDir = layout.deltaDir;
  if (initPid !== undefined) info.initPid = initPid;
  return info;
}

/** The configured host root plus every bind mount of `/` in this mount namespace, canonicalised. */
function hostRootSet(hostRoot: string): Set<string> {
  const set = new Set([canonical(hostRoot)]);
  for (const m of rootBindMounts(readMountInfo())) set.add(canonical(m));
  return set;
}

/**
 * Every container under `lxcPath`, managed or not (unmanaged ones carry `unmanagedReason`), sorted by name.
 * One bad container (unreadable config, invalid metadata, odd name) never hides the others.
 */
export async function discoverContainers(opts: DiscoverOptions): Promise<ContainerInfo[]> {
  const driver = opts.driver ?? new LxcDriver(opts.lxcPath);
  const names = containerNames(opts.lxcPath);
  if (names.length === 0) return [];
  const hostRoots = hostRootSet(opts.hostRoot);
  const statuses = new Map<string, ContainerStatus>();
  // A batch listing is an optimisation: when it fails (one broken config can upset lxc-ls), ask one by one.
  if (driver.list !== undefined) for (const s of await driver.list().catch(() => [])) statuses.set(s.name, s);
  const out: ContainerInfo[] = [];
  for (let i = 0; i < names.length; i += 16) {
    const chunk = names.slice(i, i + 16);
    // A name lxc-ls did not report (created meanwhile) is asked for on its own.
    out.push(...(await Promise.all(chunk.map((n) => describe(opts, driver, n, hostRoots, statuses.get(n))))));
  }
  return out;
}

/** One container by name; throws `NOT_FOUND` when `lxcPath` holds no such container. */
export async function getContainer(opts: DiscoverOptions, name: string): Promise<ContainerInfo> {
  assertContainerName(name);
  const configPath = join(opts.lxcPath, name, "config");
  if (!existsSync(configPath)) {
    throw new PatchrollError("NOT_FOUND", `container ${name} does not exist in ${opts.lxcPath} (no ${configPath}); list containers with patchroll containers list.`);
  }
  return describe(opts, opts.driver ?? new LxcDriver(opts.lxcPath), name, hostRootSet(opts.hostRoot), undefined);
}
