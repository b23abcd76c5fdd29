import { PatchrollError } from "../errors/patchroll-error.js";

/** Letters, digits, `.`, `_`, `-`; starts with a letter or digit; no `..`; at most 128 characters. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** True when `id` can name a snapshot: a single safe path component that never looks like a temp dir. */
export function isSnapshotId(id: string): boolean {
  return ID_PATTERN.test(id) && !id.includes("..");
}

/** Throws PatchrollError("USAGE") unless `id` is a valid snapshot id (see {@link isSnapshotId}). */
export function assertSnapshotId(id: string): void {
  if (!isSnapshotId(id)) {
    throw new PatchrollError(
      "USAGE",
      `invalid snapshot id ${JSON.stringify(id)}: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit, without '..' or '/'.`,
    );
  }
}

/** `2026-11-23T06:15:00.123Z` -> `20261123T061500Z`: compact UTC time that sorts as text. */
export function compactUtc(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
}

/**
 * A snapshot id that sorts by time: `20261123T061500Z-<label>`. Characters of `label` outside the id
 * alphabet become `_`; the label is cut so the id stays within 128 characters.
 */
export function snapshotIdFor(label: string, at: Date = new Date()): string {
  const safe = label.replace(/[^A-Za-z0-9._-]/g, "_").replace(/\.{2,}/g, "_").slice(0, 100);
  const id = safe === "" ? compactUtc(at) : `${compactUtc(at)}-${safe}`;
  assertSnapshotId(id);
  return id;
}
