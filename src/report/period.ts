import { PatchrollError } from "../errors/patchroll-error.js";

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * The start of a digest period: `7d`, `24h`, `90m`, `2w` before `until`, or an ISO 8601 date or time
 * (`2026-11-01`, `2026-11-01T06:00:00Z`).
 */
export function parseSince(text: string, until: Date): Date {
  const rel = /^(\d+)([mhdw])$/.exec(text.trim());
  if (rel !== null) return new Date(until.getTime() - Number(rel[1]) * UNIT_MS[rel[2]!]!);
  return parseTime(text, "--since");
}

/** An ISO 8601 date or time, or a usage error naming the flag. */
export function parseTime(text: string, flag: string): Date {
  const t = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  if (Number.isNaN(t)) throw new PatchrollError("USAGE", `${flag} ${text}: expected a duration such as 7d, 24h, 90m or 2w, or an ISO date such as 2026-11-01`);
  return new Date(t);
}
