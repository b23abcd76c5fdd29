import type { RolloutState } from "../rollout/rollout-store.js";

/** `3h 12m`, `4m 05s`, `12s`, `2d 3h`. */
export function formatDuration(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

/** `1.5 MiB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** `batch 2/3, 4/9 done, 0 failed`, or `-` before the plan. */
export function rolloutProgress(s: RolloutState): string {
  if (s.total === undefined) return "-";
  return `batch ${s.batch ?? 0}/${s.batches ?? 0}, ${s.done ?? 0}/${s.total} done, ${s.failures ?? 0} failed`;
}
