import type { z } from "zod";
import type { BatchSize } from "../config/schema.js";

type Size = z.infer<typeof BatchSize>;

/**
 * Batch sizes for `total` containers with Ansible `serial` semantics: each entry is a count or a percentage
 * of the whole plan (rounded down, at least 1); the last entry repeats until every container is placed;
 * a batch never exceeds what is left. `[1, "100%"]` on 5 gives `[1, 4]`.
 */
export function resolveBatchSizes(sizes: readonly Size[], total: number): number[] {
  if (total <= 0) return [];
  const out: number[] = [];
  let left = total;
  for (let i = 0; left > 0; i++) {
    const spec = sizes[Math.min(i, sizes.length - 1)]!;
    const wanted = typeof spec === "number" ? spec : Math.max(1, Math.floor((total * Number.parseInt(spec, 10)) / 100));
    const size = Math.min(wanted, left);
    out.push(size);
    left -= size;
  }
  return out;
}

/** Cuts an ordered list into batches of the resolved sizes. */
export function cutBatches<T>(items: readonly T[], sizes: readonly Size[]): T[][] {
  const out: T[][] = [];
  let at = 0;
  for (const n of resolveBatchSizes(sizes, items.length)) {
    out.push(items.slice(at, at + n));
    at += n;
  }
  return out;
}
