import { table } from "../cli/output.js";
import { formatDuration } from "../status/format.js";
import type { HostView } from "./host-record.js";

/** The `fleet hosts --json` document. */
export interface FleetHostsDocument {
  v: 1;
  at: string;
  hosts: HostView[];
}

/** What a host was doing, in a few words (its last word when it is lost). */
function doing(h: HostView): string {
  const r = h.record;
  if (r === null) return "(record unreadable)";
  if (r.rollout === null) return "idle";
  const batch = r.rollout.batch !== undefined && r.rollout.batches !== undefined ? ` batch ${r.rollout.batch}/${r.rollout.batches}` : "";
  return `${r.rollout.id} ${r.rollout.status}${batch} (${r.rollout.packages.join(", ")})${r.rollout.waitReason !== undefined ? `: ${r.rollout.waitReason}` : ""}`;
}

/** `patchroll fleet hosts` as text (pure). */
export function renderHosts(doc: FleetHostsDocument): string {
  if (doc.hosts.length === 0) return "no host has registered in this fleet (fleet.enabled on each host's daemon)";
  const rows = doc.hosts.map((h) => {
    const r = h.record;
    const c = r?.containers;
    return [
      h.host,
      h.status === "up" ? "up" : `${h.status.toUpperCase()} ${formatDuration(h.silentSec)} ago`,
      r?.version ?? "?",
      c == null ? "?" : `${c.managed}/${c.stale}/${c.shadowed}/${c.pinned}`,
      r?.exposure == null ? "-" : `${r.exposure.container} since ${r.exposure.since}`,
      r?.lastAptEvent == null ? "-" : `${r.lastAptEvent.time} ${r.lastAptEvent.packages.join(" ")}`,
      `${h.status === "up" ? "" : "last word: "}${doing(h)}`,
    ];
  });
  return table(["HOST", "STATUS", "VERSION", "MANAGED/STALE/SHADOWED/PINNED", "OLDEST EXPOSURE", "LAST APT EVENT", "ROLLOUT"], rows);
}
