import type { BigIntStats, Stats } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PatchrollError } from "../errors/patchroll-error.js";
import { runToolOk } from "../proc/tool-failure.js";

/**
 * Overlay markers in an upper (delta) dir, per the kernel's overlayfs documentation: a whiteout is a
 * character device 0/0 and hides the lower file of the same name; an opaque directory carries the xattr
 * `trusted.overlay.opaque=y` and hides everything below it in the lower layers.
 *
 * Node has no xattr or mknod API, so both go through `/usr/bin/python3` (present on every Debian host that
 * runs unattended-upgrades, which is written in Python), started like every tool (src/proc/run-tool.ts).
 * Paths travel as JSON in a request file (the starter gives tools no stdin), never in a command line, and
 * one interpreter handles a whole batch (one start costs ~25 ms).
 */
export const OPAQUE_XATTR = "trusted.overlay.opaque";

const PYTHON = "/usr/bin/python3";
const HELPER = `
import json, os, stat, sys
with open(sys.argv[1]) as f:
    req = json.load(f)
for p in req["opaque"]:
    os.setxattr(p, "${OPAQUE_XATTR}", b"y", follow_symlinks=False)
for p in req["whiteout"]:
    try:
        os.mknod(p, stat.S_IFCHR, os.makedev(0, 0))
    except FileExistsError:
        pass
found = []
for p in req["read"]:
    try:
        if os.getxattr(p, "${OPAQUE_XATTR}", follow_symlinks=False) == b"y":
            found.append(p)
    except OSError:
        pass
json.dump(found, sys.stdout)
`;

interface Request {
  opaque?: readonly string[];
  whiteout?: readonly string[];
  read?: readonly string[];
}

async function runHelper(req: Request, timeoutMs = 30_000): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), "patchroll-markers-"));
  try {
    const file = join(dir, "request.json");
    await writeFile(file, JSON.stringify({ opaque: req.opaque ?? [], whiteout: req.whiteout ?? [], read: req.read ?? [] }), { mode: 0o600 });
    const { stdout } = await runToolOk(PYTHON, ["-c", HELPER, file], { timeoutMs, killAfterMs: 1000 });
    return JSON.parse(stdout) as string[];
  } catch (err) {
    throw new PatchrollError("CONTAINER_FAILED", `could not read or write overlay markers with ${PYTHON}: ${(err as Error).message}; patchroll needs python3 and root.`, { cause: err });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** True for an overlay whiteout (character device 0/0); pass `lstat` results. */
export function isWhiteout(st: Stats | BigIntStats): boolean {
  return st.isCharacterDevice() && Number(st.rdev) === 0;
}

/** Marks existing directories opaque. Idempotent. */
export async function markOpaque(dirs: readonly string[]): Promise<void> {
  if (dirs.length > 0) await runHelper({ opaque: dirs });
}

/** Creates whiteouts at `paths` (their parent dirs must exist); an existing entry is left as is. */
export async function makeWhiteouts(paths: readonly string[]): Promise<void> {
  if (paths.length > 0) await runHelper({ whiteout: paths });
}

/** Which of `dirs` are opaque, in one interpreter run. Missing or unreadable dirs count as not opaque. */
export async function readOpaque(dirs: readonly string[]): Promise<Set<string>> {
  if (dirs.length === 0) return new Set();
  return new Set(await runHelper({ read: dirs }));
}
