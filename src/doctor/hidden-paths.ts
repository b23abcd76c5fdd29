import { existsSync, lstatSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { type ContainerInfo, discoverContainers } from "../containers/discover.js";
import { isWhiteout, readOpaque } from "../containers/overlay-markers.js";
import { DEFAULT_HIDDEN_DIRS } from "../containers/provision.js";
import type { DoctorCheck, DoctorContext, Finding } from "./check.js";

/** Host paths every managed container must not see: provisioning's list plus patchroll's configured dirs. */
export function pathsToHide(ctx: Pick<DoctorContext, "config" | "tokenFile">, hostRoot: string): string[] {
  const sshDir = join(hostRoot, "etc/ssh");
  const sshKeys = existsSync(sshDir) ? readdirSync(sshDir).filter((f) => f.startsWith("ssh_host_")).map((f) => `/etc/ssh/${f}`) : [];
  const { config } = ctx;
  const wanted = [...DEFAULT_HIDDEN_DIRS, resolve(config.lxc.path), ...sshKeys, config.stateDir, config.spoolDir, config.journalDir, dirname(ctx.tokenFile)];
  return [...new Set(wanted.map((p) => resolve(p)))].filter((p) => p !== "/" && lstatSync(join(hostRoot, p), { throwIfNoEntry: false }) !== undefined).sort();
}

/** Ancestors of `/a/b/c`, self first: `/a/b/c`, `/a/b`, `/a`. */
function selfAndAncestors(path: string): string[] {
  const out: string[] = [];
  for (let p = path; p !== "/" && p !== "."; p = dirname(p)) out.push(p);
  return out;
}

/**
 * Whether the delta hides the host's `path` (pure given `opaque`): a whiteout at it or above it, an opaque
 * dir at it or above it, or the delta's own file in its place.
 */
export function isHidden(delta: string, path: string, opaque: ReadonlySet<string>): boolean {
  for (const a of selfAndAncestors(path)) {
    const st = lstatSync(join(delta, a), { throwIfNoEntry: false });
    if (st === undefined) continue;
    if (isWhiteout(st)) return true;
    if (st.isDirectory() && opaque.has(join(delta, a))) return true;
    if (a === path && !st.isDirectory()) return true;
  }
  return false;
}

function fixFor(c: ContainerInfo, missing: readonly string[], hostRoot: string): string {
  const delta = c.deltaDir!;
  const steps = missing.map((p) =>
    lstatSync(join(hostRoot, p)).isDirectory() ? `mkdir -p ${join(delta, p)} && setfattr -n trusted.overlay.opaque -v y ${join(delta, p)}` : `mkdir -p ${join(delta, dirname(p))} && mknod ${join(delta, p)} c 0 0`,
  );
  return [...steps, `lxc-stop -P ${c.lxcPath} -n ${c.name} && lxc-start -P ${c.lxcPath} -n ${c.name}   # the overlay sees the change after a restart`].join("\n");
}

/** Every managed container's delta still hides the host's secrets and patchroll's own dirs. */
export const hiddenPathsCheck: DoctorCheck = {
  id: "hidden-paths",
  title: "containers' hidden paths in place",
  async run(ctx) {
    const { lxc } = ctx.config;
    const containers = (await discoverContainers({ lxcPath: lxc.path, hostRoot: lxc.hostRoot, driver: ctx.driver })).filter((c) => c.managed && c.deltaDir !== undefined);
    if (containers.length === 0) return { skipped: `no managed container under ${lxc.path}` };
    const hostRoot = existsSync(join(lxc.hostRoot, "etc")) ? lxc.hostRoot : "/";
    const wanted = pathsToHide(ctx, hostRoot);
    const candidates = containers.flatMap((c) => wanted.flatMap((p) => selfAndAncestors(p).map((a) => join(c.deltaDir!, a))));
    const opaque = await readOpaque(candidates.filter((d) => lstatSync(d, { throwIfNoEntry: false })?.isDirectory() === true));
    const findings: Finding[] = [];
    for (const c of containers) {
      const missing = wanted.filter((p) => !isHidden(c.deltaDir!, p, opaque));
      if (missing.length === 0) continue;
      findings.push({ severity: "error", problem: `container ${c.name} sees the host's ${missing.join(", ")}: its delta ${c.deltaDir} no longer hides them`, fix: fixFor(c, missing, hostRoot), runbook: "secret-exposure" });
    }
    return findings;
  },
};
