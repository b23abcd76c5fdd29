import { sourcesInWords } from "./plan-facts.js";
import type { RolloutReport } from "./report-model.js";
import { formatDuration, formatMoment, msBetween } from "./time-format.js";

/** `a, b and c`; past `max` names, `a, b and 3 more`. */
export function listWords(items: readonly string[], max = 5): string {
  if (items.length === 0) return "none";
  const shown = items.length > max ? [...items.slice(0, max - 1), `${items.length - max + 1} more`] : [...items];
  return shown.length === 1 ? shown[0]! : `${shown.slice(0, -1).join(", ")} and ${shown.at(-1)}`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The report's opening paragraph: what happened, when, how it ended, what it fixed and who is still exposed. */
export function summaryText(r: Omit<RolloutReport, "summary">): string {
  return [what(r), plan(r), outcome(r), cves(r), exposure(r), humans(r)].filter((s) => s !== "").join(" ");
}

function what(r: Omit<RolloutReport, "summary">): string {
  const t = r.trigger;
  if (t === null) return `Rollout ${r.rollout} on host ${r.host} has no readable plan in its journal, so what started it is unknown.`;
  const changes = t.packages.map((p) => (p.from !== null && p.to !== null ? `${p.name} from ${p.from} to ${p.to}` : p.to === null ? `removed ${p.name} ${p.from ?? ""}`.trim() : `installed ${p.name} ${p.to}`));
  const verb = t.packages.every((p) => p.action === "upgrade") ? "upgraded " : "changed ";
  return `On ${formatMoment(t.installedAt)} ${t.runBy === "unattended-upgrades" ? "unattended-upgrades" : "an apt run"} on host ${r.host} ${verb}${listWords(changes)} (origin ${t.origin}; seen by ${sourcesInWords(t.sources)}).`;
}

function plan(r: Omit<RolloutReport, "summary">): string {
  const p = r.plan;
  if (p === null) return "";
  const canaries = p.affected.filter((a) => a.canary).map((a) => a.name);
  const first = canaries.length > 0 ? `, canary ${listWords(canaries)} first` : "";
  const excluded = p.excluded.length > 0 ? ` ${plural(p.excluded.length, "container was", "containers were")} left out (${listWords(p.excluded.map((x) => `${x.name}: ${x.kind}`))}).` : "";
  if (p.affected.length === 0) return `No container needed a restart.${excluded}`;
  return `patchroll planned to restart ${plural(p.affected.length, "container")} in ${plural(p.batches.length, "batch", "batches")}${first}.${excluded}`;
}

function outcome(r: Omit<RolloutReport, "summary">): string {
  const done = r.containers.filter((c) => c.outcome !== null);
  const patched = done.filter((c) => c.outcome === "patched");
  const took = formatDuration(r.durationMs);
  switch (r.outcome) {
    case "completed":
      return r.containers.length === 0 ? `The rollout completed in ${took}.` : `The rollout completed in ${took}: ${patched.length === r.containers.length ? `all ${plural(patched.length, "container")}` : plural(patched.length, "container")} restarted, passed their health checks and were verified to run only the new files.`;
    case "completed-with-failures":
      return `The rollout completed in ${took} with failures within the failure budget: ${plural(patched.length, "container")} patched; ${listWords(done.filter((c) => c.outcome !== "patched").map((c) => `${c.name} ${c.outcome}`))}.`;
    case "halted":
    case "aborted": {
      const h = r.halt;
      const inBatch = h?.batch != null ? ` in batch ${h.batch} of ${r.batches.length}` : "";
      const head = r.outcome === "halted" ? `The rollout halted${inBatch}, ${took} after it began.` : `The rollout was ${h?.reason ?? "aborted"}${inBatch}, ${took} after it began.`;
      const reverted = h?.rolledBack ?? [];
      const failed = done.filter((c) => c.outcome !== "patched" && !reverted.includes(c.name)).map((c) => failureWords(r, c.name, c.outcome ?? "", c.reason ?? ""));
      const untouched = h?.untouched ?? [];
      const left = untouched.length > 0 ? ` ${plural(untouched.length, "container was", "containers were")} left untouched (${listWords(untouched)}) and still run the old code.` : "";
      return [head, ...failed].join(" ") + left;
    }
    case "unfinished":
      return `The journal ends on ${formatMoment(r.timeline.at(-1)?.at ?? null)} without an end: the rollout was still running or its worker died (it resumes on restart); ${done.length} of ${r.containers.length} containers were done.`;
  }
}

function failureWords(r: Omit<RolloutReport, "summary">, name: string, outcome: string, reason: string): string {
  const rb = r.rollbacks.findLast((x) => x.container === name);
  const cause = (rb?.reason ?? reason).replace(/[.;]\s*$/, "");
  if (outcome === "rolled-back") return `${name} failed (${cause}); ${rb !== undefined ? rb.text.charAt(0).toLowerCase() + rb.text.slice(1) : "it was rolled back."}`;
  if (outcome === "rollback-failed") return `${name} failed (${cause}) and its rollback did not make it healthy again: someone must look at it.`;
  return `${name}: ${outcome} (${cause}).`;
}

function cves(r: Omit<RolloutReport, "summary">): string {
  if (r.cves.from === "none") return "";
  const missing = r.cves.packages.filter((p) => p.status === "no-changelog").map((p) => p.package);
  const note = missing.length > 0 ? ` No changelog could be read for ${listWords(missing)}, so what ${missing.length === 1 ? "it" : "they"} fixed is unknown.` : "";
  const ids = r.cves.ids;
  const read = r.cves.packages.filter((p) => p.changelog !== null).length;
  if (ids.length === 0) return read === 0 ? note.trim() : `The packages' changelogs name no CVE for this change.${note}`;
  return `The packages' changelogs name ${plural(ids.length, "CVE")} fixed by this change (${listWords(ids, 6)}).${note}`;
}

function exposure(r: Omit<RolloutReport, "summary">): string {
  const x = r.exposure;
  const closed = x.windows.filter((w) => w.status === "closed" && w.closedBy === null);
  const last = closed.reduce<string | null>((m, w) => (w.until !== null && (m === null || w.until > m) ? w.until : m), null);
  const lastWords = last !== null && x.stillExposed.length === 0 ? `The last container was verified ${formatDuration(msBetween(x.installedAt, last))} after the package was installed.` : "";
  if (x.stillExposed.length === 0) return lastWords;
  const runbooks = [...new Set(x.stillExposed.map((s) => s.runbook).filter((b): b is string => b !== null))];
  const who = listWords(x.stillExposed.map((s) => s.container));
  const follow = runbooks.length > 0 ? `: follow ${listWords(runbooks)}` : "";
  const cves = [...new Set(x.stillExposed.flatMap((s) => s.cves))];
  if (cves.length === 0) return `As of ${formatMoment(r.asOf)}, ${plural(x.stillExposed.length, "container still runs", "containers still run")} the code this change replaced (${who}), though no CVE is named for it${follow}.`;
  return `As of ${formatMoment(r.asOf)}, ${plural(x.stillExposed.length, "container is", "containers are")} still exposed to ${listWords(cves, 4)} (${who})${follow}.`;
}

function humans(r: Omit<RolloutReport, "summary">): string {
  if (r.controls.length === 0) return "No one intervened.";
  return `${listWords(r.controls.map((c) => `${c.who} asked to ${c.action}${c.why !== "" ? ` ("${c.why}")` : ""}`))}.`;
}
