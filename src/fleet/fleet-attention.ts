import { runbookFile, type RunbookSlug } from "../status/runbooks.js";
import type { Attention } from "../status/status-report.js";
import type { HostView } from "./host-record.js";
import type { VersionReport } from "./verdicts.js";

/** A fleet slot as `fleet status` shows it. */
export interface SlotView {
  host: string;
  token: number;
  rollout: string;
  expiresAt: string;
}

const item = (severity: Attention["severity"], what: string, next: string, runbook: RunbookSlug): Attention => ({ severity, what, next, runbook, runbookFile: runbookFile(runbook) });

/**
 * What in the fleet needs a human, most urgent first (pure): a version failed fleet-wide, one
 * inconclusive or held by an operator, a lost host, a slot held by a lost host or past its lease.
 */
export function fleetAttention(hosts: readonly HostView[], versions: readonly VersionReport[], slots: readonly SlotView[], now: Date): Attention[] {
  const out: Attention[] = [];
  const key = (v: VersionReport) => `${v.package}=${v.version}`;
  for (const v of versions.filter((x) => x.status === "failed")) {
    const e = v.verdict!;
    out.push(item("critical", `${key(v)} failed on ${e.host} (rollout ${e.rollout}${e.container !== undefined ? `, container ${e.container}` : ""}: ${e.reason}); held on every host`, `patchroll fleet verdicts; once understood: patchroll fleet release ${key(v)} --why "..."`, "fleet-version-held"));
  }
  for (const v of versions.filter((x) => x.status === "inconclusive")) {
    const e = v.verdict!;
    out.push(item("warning", `${key(v)} was inconclusive on ${e.host} (rollout ${e.rollout}: ${e.reason}); held for a human`, `patchroll fleet release ${key(v)} --why "..."  (or leave it held)`, "fleet-version-held"));
  }
  for (const v of versions.filter((x) => x.status === "held")) {
    out.push(item("warning", `${key(v)} is held by ${v.hold!.who}: ${v.hold!.why}`, `patchroll fleet release ${key(v)} --why "..."  (when it may go on)`, "fleet-version-held"));
  }
  for (const h of hosts.filter((x) => x.status === "lost")) {
    out.push(item("warning", `host ${h.host} is lost: no heartbeat since ${h.lastSeen}`, `patchroll fleet hosts; decommissioned: patchroll fleet forget ${h.host} --why "..."`, "fleet-host-lost"));
  }
  const lost = new Set(hosts.filter((x) => x.status === "lost").map((x) => x.host));
  for (const s of slots.filter((x) => lost.has(x.host) || Date.parse(x.expiresAt) < now.getTime())) {
    out.push(item("warning", `fleet slot held by ${s.host} (rollout ${s.rollout}, token ${s.token}), whose ${lost.has(s.host) ? "host is lost" : "lease ran out"}: freed when the next host asks`, "patchroll fleet status", "fleet-lease-stuck"));
  }
  return out;
}
