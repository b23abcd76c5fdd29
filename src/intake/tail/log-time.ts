/**
 * Turns a log timestamp written in the machine's local time (dpkg, apt and Python's logging all use
 * localtime()) into an ISO 8601 UTC string. Returns undefined for impossible dates (2026-02-30, 25:00).
 * Depends on the process time zone, as the writers did.
 */
export function localLogTime(date: string, time: string, millis = "0"): string | undefined {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const t = /^(\d{2}):(\d{2}):(\d{2})$/.exec(time);
  if (d === null || t === null) return undefined;
  const [y, mo, da] = [Number(d[1]), Number(d[2]), Number(d[3])];
  const [h, mi, s] = [Number(t[1]), Number(t[2]), Number(t[3])];
  const ms = Number(millis);
  if (mo < 1 || mo > 12 || da < 1 || da > 31 || h > 23 || mi > 59 || s > 60 || !Number.isInteger(ms)) return undefined;
  const when = new Date(y, mo - 1, da, h, mi, Math.min(s, 59), ms);
  // Date rolls 2026-02-30 over to March: reject instead.
  if (when.getFullYear() !== y || when.getMonth() !== mo - 1 || when.getDate() !== da) return undefined;
  return when.toISOString();
}
