import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { installedVersion } from "../host-packages.js";
import type { LayerProbe } from "../layer-probe.js";
import { devString } from "../maps.js";
import { type ProcessView, readCmdline, readCwd, readEnvVar } from "../process-view.js";
import type { ShadowUser } from "../shadow-check.js";
import { changedPackagesSince } from "./changed-packages.js";
import { type Language, languageOf, parseInvocation } from "./language.js";
import { type LoadedCode, loadedCode } from "./loaded-code.js";
import { hostRoots, searchPath, searchPathEnv } from "./search-path.js";

/** Interpreted code a process loaded (or may have loaded) before the host replaced its file. */
export interface InterpretedStale {
  pid: number;
  comm: string;
  language: Language;
  /** Its script, when it has one. */
  script?: string;
  /** When the process started (ISO 8601). */
  startedAt: string;
  /** The module or script file (container path) that changed. */
  path: string;
  package?: string;
  /** The package's version on the host now. */
  hostVersion?: string;
  /** When the host's file (or, for "may have loaded", the package) changed (ISO 8601). */
  changedAt: string;
  /** "loaded": its sources name the file; "may have loaded": what it loads cannot be read from them. */
  certainty: "loaded" | "may have loaded";
  /** The whole finding in one sentence. */
  evidence: string;
}

/** What the interpreter check needs of the scan. */
export interface InterpreterContext {
  /** The container's layers, top first, the host root last. */
  layers: readonly string[];
  probe: LayerProbe;
  /** When the container (its init) started: its overlay may serve files cached since then. */
  containerStartMs: number | undefined;
  /** The package owning a host path; with a package filter, only those packages' files. */
  ownerOf(path: string): string | undefined;
  /** Only files the filter's packages own count (a scan with --packages). */
  packagesOnly: boolean;
  notes: string[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Which interpreted code (Python, Perl, Ruby, Node.js, PHP, shell) each process runs outdated: a file its
 * sources load that the host replaced after the process started, or that the container's overlay still
 * serves in its old version. Where its code cannot be followed, every package changed since it started
 * that ships files on its search path counts, as "may have loaded". Files its container's delta serves
 * come back in `delta` for the shadow check.
 */
export async function findInterpreted(procs: readonly ProcessView[], ctx: InterpreterContext): Promise<{ findings: InterpretedStale[]; delta: { path: string; layer: number; user: ShadowUser }[] }> {
  const findings: InterpretedStale[] = [];
  const delta: { path: string; layer: number; user: ShadowUser }[] = [];
  const hostRoot = ctx.layers[ctx.layers.length - 1];
  if (hostRoot === undefined) return { findings, delta };
  const locate = (path: string): string | undefined => {
    const s = ctx.probe.servingLayer(ctx.layers, path);
    return s === undefined || !s.stats.isFile() ? undefined : join(ctx.layers[s.index] as string, path);
  };
  // The directories the container serves in a directory of it, through its layers.
  const listDirs = (dir: string): string[] => {
    const names = new Set<string>();
    for (const layer of ctx.layers) {
      try {
        for (const n of readdirSync(join(layer, dir))) names.add(n);
      } catch {
        // Not in this layer.
      }
    }
    return [...names].filter((n) => ctx.probe.servingLayer(ctx.layers, join(dir, n))?.stats.isDirectory() === true);
  };
  for (const proc of procs) {
    if (proc.exe === undefined) continue;
    const argv = readCmdline(proc.pid);
    const language = languageOf(proc.exe, argv);
    if (language === undefined) continue;
    const inv = parseInvocation(language, argv);
    const envName = searchPathEnv(language);
    // Its interpreter is only ever asked on the host when it is the host's own program (see searchPath).
    const hostsProgram = runsHostProgram(proc, ctx);
    const envValue = envName === undefined ? undefined : readEnvVar(proc.pid, envName);
    const dirs = hostsProgram ? await searchPath(language, proc.exe, envValue) : undefined;
    // Unknown, its imports are looked up, and what it may have loaded looked for, in the language's standard
    // host roots (after its variable's dirs): never only under its script's and working directory.
    const fallback = () => [...(envValue ?? "").split(":").filter((d) => d.startsWith("/")), ...hostRoots(language, listDirs)];
    const code: LoadedCode = loadedCode(inv, readCwd(proc.pid) ?? "/", dirs ?? fallback(), locate);
    if (dirs === undefined) code.undecidable ??= hostsProgram ? `its interpreter ${proc.exe} could not tell its search path` : `its interpreter ${proc.exe} is not the host's program, so patchroll does not run it to learn its search path`;
    const base = { pid: proc.pid, comm: proc.comm, language, ...(code.script !== undefined ? { script: code.script } : {}), startedAt: iso(proc.startedMs) };
    const reported = new Set<string>();
    let other = 0;
    for (const path of code.files) {
      const served = ctx.probe.servingLayer(ctx.layers, path);
      if (served === undefined) continue;
      if (served.index < ctx.layers.length - 1) {
        delta.push({ path, layer: served.index, user: { pid: proc.pid, comm: proc.comm, via: "interpreter" } });
        continue;
      }
      const changedMs = Number(served.stats.ctimeNs / 1_000_000n);
      const why = changedMs > proc.startedMs ? "replaced on the host after it started" : changedMs > (ctx.containerStartMs ?? Infinity) && servesOld(proc.pid, path, Number(served.stats.ino)) ? "replaced on the host, and the container's overlay still serves the old file" : undefined;
      if (why === undefined) continue;
      const pkg = ctx.ownerOf(path);
      if (ctx.packagesOnly && pkg === undefined) {
        other++;
        continue;
      }
      reported.add(pkg ?? path);
      const version = pkg === undefined ? undefined : installedVersion(pkg);
      const what = path === base.script ? "runs the script" : `${base.script !== undefined ? `${base.script} ` : ""}imports`;
      findings.push({ ...base, path, ...(pkg !== undefined ? { package: pkg } : {}), ...(version !== undefined ? { hostVersion: version } : {}), changedAt: iso(changedMs), certainty: "loaded",
        evidence: `pid ${proc.pid} (${proc.comm}, ${language}) started ${base.startedAt} and ${what} ${path}${pkg !== undefined ? ` of ${pkg}` : ""}, ${why} (${iso(changedMs)}${version !== undefined ? `, now ${version}` : ""})` });
    }
    if (other > 0) ctx.notes.push(`pid ${proc.pid} (${proc.comm}) loaded ${other} changed file(s) of packages outside this scan; scan without packages to list them.`);
    if (code.undecidable === undefined) continue;
    // What it loads cannot be followed: every package changed since it could have loaded it counts.
    const since = Math.min(proc.startedMs, ctx.containerStartMs ?? Infinity);
    for (const changed of changedPackagesSince(since, code.roots)) {
      if (reported.has(changed.package) || (ctx.packagesOnly && ctx.ownerOf(changed.file) === undefined)) continue;
      const version = installedVersion(changed.package);
      findings.push({ ...base, path: changed.file, package: changed.package, ...(version !== undefined ? { hostVersion: version } : {}), changedAt: iso(changed.changedMs), certainty: "may have loaded",
        evidence: `pid ${proc.pid} (${proc.comm}, ${language}) started ${base.startedAt} and may have loaded files of ${changed.package} (such as ${changed.file}), changed ${iso(changed.changedMs)}${version !== undefined ? ` to ${version}` : ""}: ${code.undecidable}` });
    }
  }
  return { findings, delta };
}

/** Is the process's program the host root's file (not its delta's, nor one from a bind mount)? */
function runsHostProgram(proc: ProcessView, ctx: InterpreterContext): boolean {
  if (proc.exe === undefined) return false;
  try {
    const st = statSync(`/proc/${proc.pid}/exe`);
    const served = ctx.probe.servingLayer(ctx.layers, proc.exe);
    return devString(st.dev) === proc.rootDev && served !== undefined && served.index === ctx.layers.length - 1;
  } catch {
    return false;
  }
}

/** Does the container's overlay still serve another inode at `path` than the host's current one? */
function servesOld(pid: number, path: string, hostIno: number): boolean {
  try {
    return statSync(`/proc/${pid}/root${path}`).ino !== hostIno;
  } catch {
    return false;
  }
}
