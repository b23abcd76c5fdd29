import type { JournalEntry } from "../journal/entry.js";
import { compareDebianVersions } from "../intake/dpkg-log/version-compare.js";
import { compareCveIds } from "./cve-extract.js";
import { str } from "./entry-fields.js";
import { type PlannedView, readPlanned } from "./plan-facts.js";
import type { ContainerFacts, CveClosure, CveFacts, ExposureFacts, ExposureStatus, ExposureWindow } from "./report-model.js";
import { msBetween } from "./time-format.js";

/** A container verified to run a package's files at `version` or newer, by a rollout. */
export interface LaterFix {
  rollout: string;
  container: string;
  package: string;
  version: string;
  at: string;
}

/** The fixes a rollout's journal proves: each patched container, for each package the rollout upgraded. */
export function fixesOf(rollout: string, entries: readonly JournalEntry[]): LaterFix[] {
  const event = readPlanned(entries).event;
  const upgraded = (event?.packages ?? []).filter((p) => p.to !== null);
  const out: LaterFix[] = [];
  for (const e of entries) {
    if (e.type !== "container.done" || e.container === undefined || str(e.data, "outcome") !== "patched") continue;
    for (const p of upgraded) out.push({ rollout, container: e.container, package: p.name, version: p.to!, at: e.ts });
  }
  return out;
}

const RUNBOOK = {
  pinned: "runbooks/container-pinned.md",
  halted: "runbooks/rollout-halted.md",
  shadowed: "runbooks/shadowed-containers.md",
  ownDpkg: "runbooks/own-dpkg-containers.md",
  stale: "runbooks/stale-containers.md",
  report: (anchor: string) => `runbooks/read-a-report.md#${anchor}`,
};

interface Verdict {
  status: ExposureStatus;
  why: string;
  runbook: string | null;
  until?: string | null;
}

function affectedVerdict(c: ContainerFacts, ended: boolean): Verdict {
  const reason = c.reason ?? "";
  switch (c.outcome) {
    case "patched":
      return { status: "closed", why: "restarted, healthy, and verified to run only current files", runbook: null, until: c.verifiedAt };
    case "unverified":
      // A shadowing delta survives any restart: its runbook says how to clear it.
      if (/shadowed, which a restart cannot fix/.test(reason)) return { status: "open", why: `restarted and healthy, but its delta shadows patched files: ${reason}`, runbook: RUNBOOK.shadowed };
      return { status: "open", why: `restarted and healthy, but still runs outdated files: ${reason}`, runbook: RUNBOOK.stale };
    case "rolled-back":
      return { status: "open", why: "rolled back after its restart failed: it runs the old package files, pinned (see Rollbacks)", runbook: RUNBOOK.pinned };
    case "rollback-failed":
      return { status: "open", why: "its restart failed and so did the rollback: it runs the old files and is unhealthy (see Rollbacks)", runbook: RUNBOOK.halted };
    case "skipped":
      return { status: "open", why: `not restarted: ${reason}`, runbook: RUNBOOK.report("skipped") };
  }
  if (c.steps.length > 0) return { status: "open", why: "in the middle of its restart when the journal ends", runbook: RUNBOOK.report("unfinished") };
  if (ended) return { status: "open", why: "untouched: the rollout stopped before this container's batch", runbook: RUNBOOK.halted };
  return { status: "open", why: "waiting for its batch when the journal ends", runbook: RUNBOOK.report("unfinished") };
}

function excludedVerdict(kind: string, reason: string): Verdict {
  switch (kind) {
    case "shadowed":
      return { status: "open", why: reason, runbook: RUNBOOK.shadowed };
    case "pinned":
      return { status: "open", why: reason, runbook: RUNBOOK.pinned };
    case "own-dpkg":
      return { status: "unknown", why: `${reason}; patchroll cannot tell which versions it runs`, runbook: RUNBOOK.ownDpkg };
    case "stopped":
    case "patched":
      return { status: "not-exposed", why: reason, runbook: null };
    default:
      return { status: "unknown", why: reason, runbook: null };
  }
}

/**
 * Exposure per container and package (hence per CVE): from the package install to the verified restart
 * (pure). Open windows stay open unless a later rollout on the host verified the container on the same
 * package at this version or newer; then they close there.
 */
export function exposureFacts(o: { planned: PlannedView; containers: readonly ContainerFacts[]; cves: CveFacts; ended: boolean; later: readonly LaterFix[] }): ExposureFacts {
  const event = o.planned.event;
  const installedAt = event === null ? null : (event.endedAt ?? event.time);
  const upgraded = (event?.packages ?? []).filter((p) => p.from !== null && p.to !== null && compareDebianVersions(p.to, p.from) > 0);
  const cvesOf = (pkg: string) => (o.cves.packages.find((p) => p.package === pkg)?.fixed ?? []).map((c) => c.id);
  const scanOf = (name: string) => o.planned.scans.find((s) => s.name === name);
  const windows: ExposureWindow[] = [];
  const add = (container: string, used: readonly string[], v: Verdict) => {
    const names = upgraded.map((p) => p.name);
    const pkgs = used.filter((p) => names.includes(p));
    for (const p of upgraded.filter((u) => (pkgs.length > 0 ? pkgs : names).includes(u.name))) {
      const w: ExposureWindow = { container, package: p.name, cves: cvesOf(p.name), from: null, until: null, ms: null, status: v.status, why: v.why, runbook: v.runbook, closedBy: null };
      if (v.status !== "not-exposed") w.from = installedAt;
      if (v.status === "closed") w.until = v.until ?? null;
      if (v.status === "open") {
        const fix = o.later.find((f) => f.container === container && f.package === p.name && compareDebianVersions(f.version, p.to!) >= 0);
        if (fix !== undefined) Object.assign(w, { status: "closed", until: fix.at, closedBy: fix.rollout, why: `closed later by rollout ${fix.rollout} (${p.name} ${fix.version}); before that: ${v.why}`, runbook: null });
      }
      w.ms = msBetween(w.from, w.until);
      windows.push(w);
    }
  };
  for (const c of o.containers) add(c.name, scanOf(c.name)?.stalePackages ?? [], affectedVerdict(c, o.ended));
  for (const x of o.planned.plan?.excluded ?? []) {
    if (x.kind === "unmanaged") continue;
    add(x.name, scanOf(x.name)?.shadowedPackages ?? [], excludedVerdict(x.kind, x.reason));
  }
  return { installedAt, windows, byCve: closures(windows, o.cves), stillExposed: stillExposed(windows) };
}

function closures(windows: readonly ExposureWindow[], cves: CveFacts): CveClosure[] {
  return cves.ids.map((id) => {
    const ws = windows.filter((w) => w.cves.includes(id));
    return {
      id,
      packages: cves.packages.filter((p) => p.fixed.some((c) => c.id === id)).map((p) => p.package),
      closed: ws.filter((w) => w.status === "closed").map((w) => ({ container: w.container, at: w.until ?? "" })),
      open: ws.filter((w) => w.status === "open" || w.status === "unknown").map((w) => ({ container: w.container, why: w.why })),
    };
  });
}

function stillExposed(windows: readonly ExposureWindow[]): ExposureFacts["stillExposed"] {
  const open = windows.filter((w) => w.status === "open" || w.status === "unknown");
  const names = [...new Set(open.map((w) => w.container))];
  return names.map((container) => {
    const ws = open.filter((w) => w.container === container);
    return {
      container,
      packages: ws.map((w) => w.package),
      cves: [...new Set(ws.flatMap((w) => w.cves))].sort(compareCveIds),
      since: ws[0]!.from,
      why: ws[0]!.why,
      runbook: ws[0]!.runbook,
    };
  });
}
