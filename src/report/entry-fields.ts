/**
 * Typed reads of a journal entry's `data` (kept as written, so `unknown`): a report never trusts a field's
 * type, because an older or newer writer may have written it differently. Each returns null when absent or
 * of another type.
 */
export type Data = Record<string, unknown>;

export function str(d: Data, key: string): string | null {
  const v = d[key];
  return typeof v === "string" ? v : null;
}

export function num(d: Data, key: string): number | null {
  const v = d[key];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

export function bool(d: Data, key: string): boolean | null {
  const v = d[key];
  return typeof v === "boolean" ? v : null;
}

export function strs(d: Data, key: string): string[] {
  const v = d[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

export function obj(d: Data, key: string): Data | null {
  const v = d[key];
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Data) : null;
}

/** The items of an array field, whatever they are. */
export function items(d: Data, key: string): unknown[] {
  const v: unknown = d[key];
  return Array.isArray(v) ? v : [];
}

export function arr(d: Data, key: string): Data[] {
  const v = d[key];
  return Array.isArray(v) ? v.filter((x): x is Data => typeof x === "object" && x !== null && !Array.isArray(x)) : [];
}

/**
 * Whether a step ran to its end (false: it threw, and `error` says why), from its `step.end` data. A health
 * step that judged carries its verdict in `healthy`, and newer writers set `ok` to that verdict too: it ran.
 */
export function stepRan(d: Data): boolean | null {
  if (typeof d["healthy"] === "boolean" && d["error"] === undefined) return true;
  return bool(d, "ok");
}
