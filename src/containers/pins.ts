import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, lstatSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { z } from "zod";
import type { AptEvent } from "../intake/apt-event.js";
import { writeFileDurable } from "../fs/durable-file.js";
import { captureRoot } from "../intake/capture.js";
import { runToolOk } from "../proc/tool-failure.js";

/** A container deliberately running old package files after a rollback. */
export const Pin = z.strictObject({
  v: z.literal(1),
  container: z.string(),
  rollout: z.string(),
  createdAt: z.string(),
  packages: z.array(z.strictObject({ name: z.string(), version: z.string(), arch: z.string() })),
  /** Container paths (absolute) that hold old package files in the delta. */
  paths: z.array(z.string()),
});
export type Pin = z.infer<typeof Pin>;

function pinFile(stateDir: string, container: string): string {
  return join(stateDir, "pins", `${container}.json`);
}

export function readPin(stateDir: string, container: string): Pin | undefined {
  const file = pinFile(stateDir, container);
  return existsSync(file) ? Pin.parse(JSON.parse(readFileSync(file, "utf8"))) : undefined;
}

export function listPins(stateDir: string): Pin[] {
  const dir = join(stateDir, "pins");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => Pin.parse(JSON.parse(readFileSync(join(dir, f), "utf8"))));
}

/** Container paths whose files are pinned; detection reports them as "pinned", not "shadowed". */
export function pinnedPaths(stateDir: string, container: string): ReadonlySet<string> {
  return new Set(readPin(stateDir, container)?.paths ?? []);
}

/**
 * Makes `container` run the old files of the event's upgraded packages again, while the host keeps the new
 * ones: the files the apt hook captured before dpkg replaced them are copied into the container's delta,
 * where they shadow the host root (docs/platform.md, "Pinning old files": files in the delta always shadow;
 * a second lower layer on the root filesystem does not mount). The delta lives on disk, so the pin survives restarts and reboots.
 * The container must be stopped. Idempotent.
 */
export async function pinOldFiles(o: { stateDir: string; container: string; deltaDir: string; event: Pick<AptEvent, "packages">; rolloutId: string }): Promise<{ pinned: boolean; detail: string }> {
  const packages: Pin["packages"] = [];
  const paths: string[] = [];
  const missing: string[] = [];
  for (const p of o.event.packages) {
    if (p.from === null || p.action === "configure" || p.action === "install") continue;
    const root = captureRoot(o.stateDir, p.name, p.from, p.arch);
    if (!existsSync(root)) {
      missing.push(`${p.name} ${p.from}`);
      continue;
    }
    paths.push(...(await copyIntoDelta(root, o.deltaDir)).map((f) => `/${f}`));
    packages.push({ name: p.name, version: p.from, arch: p.arch });
  }
  if (packages.length === 0) return { pinned: false, detail: missing.length > 0 ? `no captured old files for ${missing.join(", ")}` : "no upgraded package to pin" };
  const pin: Pin = { v: 1, container: o.container, rollout: o.rolloutId, createdAt: new Date().toISOString(), packages, paths };
  const file = pinFile(o.stateDir, o.container);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileDurable(file, `${JSON.stringify(pin, null, 2)}\n`);
  const note = missing.length > 0 ? `; not captured: ${missing.join(", ")}` : "";
  return { pinned: true, detail: `${packages.map((p) => `${p.name} ${p.version}`).join(", ")} (${paths.length} files)${note}` };
}

/** Removes a container's pinned files from its delta and forgets the pin. Takes effect at its next restart. */
export function unpin(o: { stateDir: string; container: string; deltaDir: string }): Pin | undefined {
  const pin = readPin(o.stateDir, o.container);
  if (pin === undefined) return undefined;
  for (const p of pin.paths) rmSync(join(o.deltaDir, p), { force: true });
  rmSync(pinFile(o.stateDir, o.container));
  return pin;
}

/**
 * Copies the files under `root` into the delta at the same relative paths, each replacing what is there
 * atomically. One `cp -a` (owner, mode, times and xattrs of the captured old files kept) copies the whole
 * tree to a staging dir beside the delta (same filesystem), then each file is renamed into place; a crash
 * leaves the staging dir, which the next call removes first. Returns the relative paths copied.
 */
async function copyIntoDelta(root: string, deltaDir: string): Promise<string[]> {
  const files = listFiles(root);
  const staging = `${deltaDir}.patchroll-pin`;
  rmSync(staging, { recursive: true, force: true });
  try {
    await runToolOk("cp", ["-a", "--no-target-directory", "--", root, staging], { timeoutMs: 60_000 + files.length * 100 });
    for (const f of files) {
      const target = join(deltaDir, f);
      mkdirSync(dirname(target), { recursive: true });
      renameSync(join(staging, f), target);
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return files;
}

/** Regular files and symlinks under `root`, as paths relative to it. */
function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      const st = lstatSync(full);
      if (st.isDirectory()) walk(full);
      else if (st.isFile() || st.isSymbolicLink()) out.push(relative(root, full));
    }
  };
  if (statSync(root).isDirectory()) walk(root);
  return out;
}
