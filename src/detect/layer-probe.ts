import { type BigIntStats, lstatSync } from "node:fs";
import { join } from "node:path";
import { isWhiteout, readOpaque } from "../containers/overlay-markers.js";

/** How a layer above the host root hides a host file. */
export type ShadowKind = "copy" | "whiteout" | "opaque";

/**
 * Opaque markers seen by earlier scans. Setting or removing an xattr changes the directory's ctime, so an
 * entry is reused only while inode and ctime are unchanged: repeated scans spawn no helper at all.
 */
const knownOpaque = new Map<string, { ino: number; ctimeNs: bigint; opaque: boolean }>();

/**
 * Cached look-ups into overlay layers for one scan: `lstat` of each absolute path once, the opaque
 * xattr of each directory once (fetched in batches, see {@link LayerProbe.prefetchOpaque}). Create one per
 * scan: the cache is never invalidated.
 */
export class LayerProbe {
  private readonly stats = new Map<string, BigIntStats | null>();
  private readonly opaque = new Map<string, boolean>();

  /** `lstat` with bigint fields (nanosecond ctime; inode numbers beyond 2^53 stay exact). */
  lstat(path: string): BigIntStats | undefined {
    let st = this.stats.get(path);
    if (st === undefined) {
      try {
        st = lstatSync(path, { bigint: true });
      } catch {
        st = null;
      }
      this.stats.set(path, st);
    }
    return st ?? undefined;
  }

  /**
   * Whether `layer` has a directory at `dir` (absolute, as in the container). Most deltas hold nothing under
   * /usr or /lib: one cached answer per directory rules out every file below it.
   */
  hasDir(layer: string, dir: string): boolean {
    return this.lstat(dir === "/" ? layer : `${layer}${dir}`)?.isDirectory() === true;
  }

  /** The directories a shadow check of `paths` in `layer` will ask about: existing ancestors in that layer. */
  private opaqueCandidates(layer: string, paths: Iterable<string>, out: Set<string>): void {
    for (const path of paths) {
      let cur = layer;
      const parts = path.split("/").filter((p) => p !== "");
      for (let i = 0; i < parts.length - 1; i++) {
        cur = `${cur}/${parts[i] as string}`;
        const st = this.lstat(cur);
        if (st === undefined || !st.isDirectory()) break;
        if (this.opaque.has(cur)) continue;
        const known = knownOpaque.get(cur);
        if (known !== undefined && known.ino === Number(st.ino) && known.ctimeNs === st.ctimeNs) this.opaque.set(cur, known.opaque);
        else out.add(cur);
      }
    }
  }

  /** Reads the opaque markers a later {@link shadowOf} needs, for many layers in one helper run. */
  async prefetchOpaque(requests: Iterable<{ layer: string; paths: Iterable<string> }>): Promise<void> {
    const wanted = new Set<string>();
    for (const r of requests) this.opaqueCandidates(r.layer, r.paths, wanted);
    if (wanted.size === 0) return;
    const found = await readOpaque([...wanted]);
    for (const d of wanted) {
      this.opaque.set(d, found.has(d));
      const st = this.lstat(d);
      if (st !== undefined) knownOpaque.set(d, { ino: Number(st.ino), ctimeNs: st.ctimeNs, opaque: found.has(d) });
    }
  }

  /**
   * Whether `layer` (an overlay upper or upper lower dir) hides the host file at `path`: its own copy
   * (or any non-directory where the host has a directory), a whiteout, or an opaque ancestor directory.
   * Call {@link prefetchOpaque} for the same layer and paths first.
   */
  shadowOf(layer: string, path: string): ShadowKind | undefined {
    const parts = path.split("/").filter((p) => p !== "");
    let cur = layer;
    for (let i = 0; i < parts.length; i++) {
      cur = join(cur, parts[i] as string);
      const st = this.lstat(cur);
      if (st === undefined) return undefined;
      if (isWhiteout(st)) return "whiteout";
      if (i === parts.length - 1 || !st.isDirectory()) return "copy";
      if (this.opaque.get(cur) === true) return "opaque";
    }
    return undefined;
  }

  /**
   * Which layer serves `path` to the container: the index in `layers` (top first: delta, upper lowers,
   * host root) of the first that holds it, or undefined when a whiteout hides it or none has it.
   */
  servingLayer(layers: readonly string[], path: string): { index: number; stats: BigIntStats } | undefined {
    const parent = path.slice(0, Math.max(1, path.lastIndexOf("/")));
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i] as string;
      // An upper layer without the parent directory holds neither the file nor a whiteout of it.
      if (i < layers.length - 1 && !this.hasDir(layer, parent)) continue;
      const st = this.lstat(`${layer}${path}`);
      if (st === undefined) continue;
      if (isWhiteout(st)) return undefined;
      return { index: i, stats: st };
    }
    return undefined;
  }
}
