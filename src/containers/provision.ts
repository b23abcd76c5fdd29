import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, chownSync, chmodSync } from "node:fs";
import { dirname, isAbsolute, join, normalize, resolve } from "node:path";
import { PatchrollError } from "../errors/patchroll-error.js";
import { writeFileDurableSync } from "../fs/durable-file.js";
import { removeLeftoverCgroups } from "./cgroup-pids.js";
import { type ContainerInfo, getContainer } from "./discover.js";
import type { ContainerDriver } from "./driver.js";
import { ensureHostRoot } from "./host-root.js";
import { LxcDriver } from "./lxc-driver.js";
import { type LxcConfigEntry, parseLxcConfig, renderLxcConfig, renderOverlayRootfs } from "./lxc-config.js";
import { type ContainerMetaInput, writeMeta } from "./meta.js";
import { removeTreeSafely } from "./mountinfo.js";
import { assertContainerName } from "./name.js";
import { makeWhiteouts, markOpaque } from "./overlay-markers.js";

/** A host directory mounted into the container. */
export interface MountSpec {
  host: string;
  container: string;
  readOnly?: boolean;
}

/** What {@link createContainer} builds: one service on the shared host root. */
export interface ContainerSpec {
  name: string;
  lxcPath: string;
  hostRoot: string;
  /** The service's argv, run under LXC's `init.lxc` (which forwards SIGTERM for fast, clean stops). */
  service: string[];
  /**
   * Service environment, given to the service alone (`env K=V` in front of it). Not `lxc.environment`:
   * LXC exports that to its hooks on the host as well, so an `LD_PRELOAD` there loads the host's copy of
   * a library into `lxc-start`'s mount hook (measured: a broken library then makes every start fail).
   */
  env?: Record<string, string>;
  mounts?: MountSpec[];
  /** More host paths to hide: a directory becomes opaque, a file gets a whiteout. */
  hide?: string[];
  meta?: ContainerMetaInput;
}

/** Host directories every container sees empty: home dirs, scratch space and patchroll's own state. */
export const DEFAULT_HIDDEN_DIRS: readonly string[] = ["/root", "/home", "/tmp", "/etc/patchroll", "/var/lib/patchroll", "/var/spool/patchroll", "/var/log/patchroll"];

/**
 * Host files every container sees removed (whiteouts), when the host has them: the password hashes. A
 * service inside that authenticates local users needs its own copy in the delta.
 */
export const DEFAULT_HIDDEN_FILES: readonly string[] = ["/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-"];

/** Directories a container cannot run without: neither the LXC path nor a hidden path may be one of them. */
const SYSTEM_DIRS: ReadonlySet<string> = new Set(["/", "/usr", "/etc", "/var", "/var/lib", "/bin", "/sbin", "/lib", "/lib64", "/opt", "/run", "/dev", "/proc", "/sys"]);

/** LXC's distribution-neutral defaults, included when present. */
export const LXC_COMMON_CONF = "/usr/share/lxc/config/common.conf";

/** The overlay upper dir of a container created here. */
export const deltaDirOf = (lxcPath: string, name: string): string => join(lxcPath, name, "delta0");

const invalid = (msg: string) => new PatchrollError("CONTAINER_INVALID", msg);

function assertPath(what: string, p: string): string {
  if (!isAbsolute(p) || /\s/.test(p) || p.split("/").includes("..")) throw invalid(`${what} ${JSON.stringify(p)} must be an absolute path without blanks or '..'.`);
  return normalize(p).replace(/\/+$/, "") || "/";
}

/**
 * LXC's common defaults (capability drops, the seccomp filter, the device allow-list), copied from
 * common.conf rather than included: the include pulls in common.conf.d, whose lxcfs hooks run a shell
 * script on the host at every start and stop (measured: a stop of 530 ms instead of 30 ms) and get the
 * service's environment. Hooks, includes and its fuse bind mount are left out; a host without common.conf
 * gets proc and sys.
 */
function commonEntries(): LxcConfigEntry[] {
  if (!existsSync(LXC_COMMON_CONF)) return [{ key: "lxc.mount.auto", value: "proc:mixed sys:mixed" }];
  const keep = (key: string) => key !== "lxc.include" && key !== "lxc.mount.entry" && !key.startsWith("lxc.hook.");
  return parseLxcConfig(readFileSync(LXC_COMMON_CONF, "utf8")).filter((e) => keep(e.key));
}

/** The LXC config of a container built from `spec` (pure; validates every value that lands in a config line). */
export function containerConfigEntries(spec: ContainerSpec): LxcConfigEntry[] {
  const name = assertContainerName(spec.name);
  if (spec.service.length === 0) throw invalid(`container ${name}: service argv is empty; give the command to run.`);
  for (const arg of spec.service) {
    // LXC splits lxc.init.cmd on spaces and knows no quoting.
    if (arg === "" || /\s/.test(arg)) throw invalid(`container ${name}: service argument ${JSON.stringify(arg)} is empty or holds a blank, which lxc.init.cmd cannot carry; wrap the command in a script.`);
  }
  // LXC's common defaults: capability drops, a seccomp filter and a device allow-list (no raw host disks).
  const common = commonEntries();
  const entries: LxcConfigEntry[] = [
    ...common,
    { key: "lxc.uts.name", value: name },
    { key: "lxc.rootfs.path", value: renderOverlayRootfs({ lowerDirs: [assertPath("host root", spec.hostRoot)], upperDir: deltaDirOf(resolve(spec.lxcPath), name) }) },
    { key: "lxc.net.0.type", value: "none" },
    { key: "lxc.apparmor.profile", value: "unconfined" },
    { key: "lxc.signal.halt", value: "SIGTERM" },
  ];
  const env: string[] = [];
  for (const [k, v] of Object.entries(spec.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw invalid(`container ${name}: environment name ${JSON.stringify(k)} is not a valid variable name.`);
    if (v === "" || /\s/.test(v)) throw invalid(`container ${name}: environment value of ${k} is empty or holds a blank, which lxc.init.cmd cannot carry; wrap the command in a script.`);
    env.push(`${k}=${v}`);
  }
  for (const m of spec.mounts ?? []) {
    const host = assertPath("mount source", m.host);
    const target = assertPath("mount target", m.container).slice(1);
    const kind = existsSync(host) && !statSync(host).isDirectory() ? "file" : "dir";
    entries.push({ key: "lxc.mount.entry", value: `${host} ${target} none bind,create=${kind}${m.readOnly === true ? ",ro" : ""} 0 0` });
  }
  for (const p of [...(spec.hide ?? []), spec.lxcPath]) {
    if (SYSTEM_DIRS.has(assertPath("hidden path", p))) throw invalid(`container ${name}: ${p} cannot be hidden (the LXC path is hidden too): the container would lose system files; use a dedicated directory.`);
  }
  const service = env.length > 0 ? ["/usr/bin/env", ...env, ...spec.service] : spec.service;
  entries.push({ key: "lxc.init.cmd", value: ["/usr/sbin/init.lxc", "-n", name, "--", ...service].join(" ") });
  return entries;
}

/** Creates `delta/rel` and missing parents with the owner and mode of the host's directory at `rel`. */
function mkdirLike(hostRoot: string, delta: string, rel: string): boolean {
  let path = "";
  for (const part of rel.split("/").filter((p) => p !== "")) {
    path = `${path}/${part}`;
    const target = join(delta, path);
    const existing = lstatSync(target, { throwIfNoEntry: false });
    if (existing !== undefined) {
      if (!existing.isDirectory()) return false;
      continue;
    }
    mkdirSync(target);
    const host = lstatSync(join(hostRoot, path), { throwIfNoEntry: false });
    if (host?.isDirectory() === true) {
      chownSync(target, host.uid, host.gid);
      chmodSync(target, host.mode & 0o7777);
    }
  }
  return true;
}

/** Hides host content in the delta: opaque dirs for directories (or absent paths), whiteouts for files. */
async function hideHostPaths(spec: ContainerSpec, delta: string): Promise<void> {
  const sshDir = join(spec.hostRoot, "etc/ssh");
  const sshKeys = existsSync(sshDir) ? readdirSync(sshDir).filter((f) => f.startsWith("ssh_host_")).map((f) => `/etc/ssh/${f}`) : [];
  // The LXC path holds every container's delta: no container may read its neighbours' files.
  const secrets = DEFAULT_HIDDEN_FILES.filter((f) => lstatSync(join(spec.hostRoot, f), { throwIfNoEntry: false })?.isFile() === true);
  const wanted = [...DEFAULT_HIDDEN_DIRS, resolve(spec.lxcPath), ...sshKeys, ...secrets, ...(spec.hide ?? []).map((p) => assertPath("hidden path", p))];
  const opaque: string[] = [];
  const whiteouts: string[] = [];
  for (const p of new Set(wanted)) {
    const host = lstatSync(join(spec.hostRoot, p), { throwIfNoEntry: false });
    if (host === undefined || host.isDirectory()) {
      if (mkdirLike(spec.hostRoot, delta, p)) opaque.push(join(delta, p));
    } else if (mkdirLike(spec.hostRoot, delta, dirname(p)) && lstatSync(join(delta, p), { throwIfNoEntry: false }) === undefined) {
      whiteouts.push(join(delta, p));
    }
  }
  await markOpaque(opaque);
  await makeWhiteouts(whiteouts);
}

/**
 * Creates (or brings up to date) a container whose rootfs is the host root plus its own delta, as in the
 * seed texts, with host secrets hidden and the sidecar metadata written. Idempotent; never starts it and
 * never wipes an existing delta. Bind-mounts the host root first if needed.
 */
export async function createContainer(spec: ContainerSpec, driver?: ContainerDriver): Promise<ContainerInfo> {
  const text = renderLxcConfig(containerConfigEntries(spec), `written by patchroll for ${spec.name}; edit with care, the rootfs line makes it a managed container`);
  await ensureHostRoot(spec.hostRoot);
  const dir = join(spec.lxcPath, spec.name);
  const delta = deltaDirOf(resolve(spec.lxcPath), spec.name);
  mkdirSync(delta, { recursive: true, mode: 0o755 });
  await hideHostPaths(spec, delta);
  const config = join(dir, "config");
  if (!existsSync(config) || readFileSync(config, "utf8") !== text) {
    writeFileDurableSync(config, text, { mode: 0o644 });
  }
  writeMeta(spec.lxcPath, spec.name, spec.meta ?? { v: 1 });
  return getContainer({ lxcPath: spec.lxcPath, hostRoot: spec.hostRoot, ...(driver !== undefined ? { driver } : {}) }, spec.name);
}

/**
 * Stops the container (halt signal, then kill after `stopTimeoutSec`, default 10) and removes its directory,
 * delta included. Idempotent. Never removes a container that is still running.
 */
export async function destroyContainer(lxcPath: string, name: string, options: { driver?: ContainerDriver; stopTimeoutSec?: number } = {}): Promise<void> {
  assertContainerName(name);
  const dir = join(lxcPath, name);
  if (!existsSync(dir)) return;
  if (existsSync(join(dir, "config"))) {
    const driver = options.driver ?? new LxcDriver(lxcPath);
    await driver.stop(name, options.stopTimeoutSec ?? 10);
    const state = await driver.state(name);
    if (state !== "STOPPED") throw new PatchrollError("CONTAINER_FAILED", `container ${name} is ${state} after stopping it; its directory ${dir} is kept. Stop it with lxc-stop -k -P ${lxcPath} -n ${name} and retry.`);
    removeLeftoverCgroups(name);
  }
  removeTreeSafely(dir);
}
