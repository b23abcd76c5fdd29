import { dirname } from "node:path";
import { nativeHelper, runTool } from "../proc/run-tool.js";
import { freeSpace, spaceShortfall, type SpaceMargin, type TreeUsage } from "./disk-space.js";
import { copyResult, type CopyStartHook } from "./snapshot-copy.js";
import { failure } from "../proc/tool-failure.js";

/** native/prcopy, where `npm run build` built it; "" where it was not (no C compiler): snapshots then use cp. */
export const PRCOPY = nativeHelper("prcopy");

/** One pass of prcopy (native/prcopy.c): makes `dst` an exact copy of `src`, writing only what changed. */
export interface SyncPass {
  src: string;
  dst: string;
  /**
   * What `dst` holds, as the last pass left it; removed while the pass runs, written again at its end.
   * Without one, everything is copied.
   */
  manifest?: string | undefined;
  /** A complete earlier copy (a snapshot, never written again) to hard-link unchanged files from. */
  linkDest?: { tree: string; manifest: string } | undefined;
  /**
   * Either way everything written is durable before the manifest says so. fs: one syncfs at the end; auto:
   * an fsync per entry written when there are few (up to 256: a catch-up, a small delta), else syncfs.
   */
  sync: "auto" | "fs";
  /** `src` may change under the copy (the container runs): what changes is copied again next pass. */
  tolerant: boolean;
  /** Room the pass must leave free on `dst`'s filesystem, beyond what it really writes. */
  margin: SpaceMargin;
  timeoutMs: number;
  /** Test hook: prcopy's pid, as soon as it runs. */
  onCopyStart?: CopyStartHook | undefined;
  /** Test hook: prcopy stops itself (SIGSTOP) once it has written this many files. */
  stopAfter?: number | undefined;
}

/** What a pass did: entries of `src`, how each was handled, and `src`'s disk usage (as {@link TreeUsage}). */
export interface SyncResult {
  entries: number;
  copied: number;
  cloned: number;
  linked: number;
  kept: number;
  removed: number;
  /** Allocated bytes of the files written (copied or cloned). */
  bytes: number;
  usage: TreeUsage;
}

/** Thrown when the pass would not fit: `dst` was not touched. */
export class NoSpaceError extends Error {}

/** Exit status of prcopy when the copy would not fit (sysexits' EX_TEMPFAIL). */
const EXIT_NO_SPACE = 75;

/** Runs one pass; rejects with prcopy's own complaint, or a {@link NoSpaceError} saying what was short. */
export async function syncTree(pass: SyncPass): Promise<SyncResult> {
  const args = [...(pass.manifest !== undefined ? ["--manifest", pass.manifest] : []), "--sync", pass.sync, "--reserve-bytes", String(pass.margin.bytes), "--reserve-inodes", String(pass.margin.inodes)];
  if (pass.tolerant) args.push("--tolerant");
  if (pass.stopAfter !== undefined) args.push("--stop-after", String(pass.stopAfter));
  if (pass.linkDest !== undefined) args.push("--link-dest", pass.linkDest.tree, "--link-manifest", pass.linkDest.manifest);
  const r = await copyResult(runTool(PRCOPY, [...args, "--", pass.src, pass.dst], { timeoutMs: pass.timeoutMs, killAfterMs: 5_000 }), pass.onCopyStart);
  const fields = parseFields(r.stdout);
  if (r.exitCode === EXIT_NO_SPACE) {
    const need = { bytes: fields.get("space_bytes") ?? 0, files: fields.get("space_inodes") ?? 0 };
    const short = spaceShortfall(need, freeSpace(dirname(pass.dst)), pass.margin) ?? `needs ${need.bytes} bytes and ${need.files} inodes beyond the margin`;
    throw new NoSpaceError(short);
  }
  if (r.exitCode !== 0) throw new Error(`copy of ${pass.src} to ${pass.dst} failed: ${failure(r)}`);
  const n = (k: string): number => fields.get(k) ?? 0;
  return {
    entries: n("entries"), copied: n("copied"), cloned: n("cloned"), linked: n("linked"), kept: n("kept"), removed: n("removed"), bytes: n("bytes"),
    usage: { bytes: n("usage_bytes"), files: n("usage_files") },
  };
}

/** prcopy's one line of `key value` pairs ("space B I" when short of space). */
function parseFields(stdout: string): Map<string, number> {
  const words = stdout.trim().split(/\s+/);
  const out = new Map<string, number>();
  if (words[0] === "space") {
    out.set("space_bytes", Number(words[1]));
    out.set("space_inodes", Number(words[2]));
    return out;
  }
  for (let i = 0; i + 1 < words.length; i += 2) {
    const v = Number(words[i + 1]);
    if (Number.isFinite(v)) out.set(words[i]!, v);
  }
  return out;
}
