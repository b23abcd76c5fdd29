/** Milliseconds between two ISO times, or null when either is missing or unreadable. */
export function msBetween(from: string | null | undefined, to: string | null | undefined): number | null {
  if (from == null || to == null) return null;
  const a = Date.parse(from);
  const b = Date.parse(to);
  return Number.isNaN(a) || Number.isNaN(b) ? null : b - a;
}

/** A duration for people: `550 ms`, `1.5 s`, `2 min 5 s`, `3 h 4 min`, `2 d 3 h`. Deterministic. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return "-";
  const sign = ms < 0 ? "-" : "";
  const a = Math.abs(ms);
  if (a < 1000) return `${sign}${Math.round(a)} ms`;
  if (a < 60_000) return `${sign}${(Math.round(a / 100) / 10).toFixed(1)} s`;
  const s = Math.round(a / 1000);
  if (s < 3600) return `${sign}${Math.floor(s / 60)} min ${s % 60} s`;
  const m = Math.round(s / 60);
  if (m < 1440) return `${sign}${Math.floor(m / 60)} h ${m % 60} min`;
  const h = Math.round(m / 60);
  return `${sign}${Math.floor(h / 24)} d ${h % 24} h`;
}

/** `2026-11-23 06:41:56 UTC`: a moment for a sentence. */
export function formatMoment(iso: string | null): string {
  if (iso === null) return "an unknown time";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return `${new Date(t).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/**
 * A time for a table: `06:41:56.821` on the day of `day` (an ISO time), the full date and time otherwise.
 * Always UTC, so a report reads the same wherever it is made.
 */
export function formatClock(iso: string | null, day: string | null): string {
  if (iso === null) return "-";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const full = new Date(t).toISOString();
  return day !== null && full.slice(0, 10) === day.slice(0, 10) ? full.slice(11, 23) : `${full.slice(0, 10)} ${full.slice(11, 23)}`;
}
