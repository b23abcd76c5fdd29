import { PatchrollError } from "../errors/patchroll-error.js";
import { type JournalRead, listJournals, readJournal } from "../journal/journal.js";
import { journalFile } from "../journal/paths.js";
import { buildReport } from "./build-report.js";
import { cvesOfEvent, DOC_ROOT } from "./changelog-read.js";
import { fixesOf, type LaterFix } from "./exposure.js";
import { readPlanned } from "./plan-facts.js";
import type { RolloutReport } from "./report-model.js";

/** Where reports read from: the journals of one host, and the installed packages' documentation. */
export interface ReportSources {
  journalDir: string;
  hostId: string;
  /** Default /usr/share/doc. */
  docRoot?: string;
}

/** `latest` names the newest rollout with a journal; any other value is a rollout id. */
export function resolveRollout(src: ReportSources, rollout: string): string {
  const ids = listJournals(src.journalDir, src.hostId);
  if (rollout === "latest") {
    const last = ids.at(-1);
    if (last === undefined) throw new PatchrollError("NOT_FOUND", `no journals for host ${src.hostId} under ${src.journalDir}: nothing to report yet`);
    return last;
  }
  if (!ids.includes(rollout)) {
    throw new PatchrollError("NOT_FOUND", `no journal for rollout ${rollout} on host ${src.hostId} under ${src.journalDir}; see patchroll rollouts list (or patchroll journal verify for every journal)`);
  }
  return rollout;
}

/**
 * Builds the report of one rollout from the journals alone (Redis is never read). CVEs come from
 * `rollout.planned` when the worker recorded them, otherwise from the installed changelogs (local files).
 * Windows left open are closed by later rollouts on the same host that verified the fix. `cache` keeps
 * the journals read, for callers that make many reports (a digest).
 */
export async function loadRolloutReport(src: ReportSources, rolloutArg: string, cache: Map<string, JournalRead> = new Map()): Promise<RolloutReport> {
  const rollout = resolveRollout(src, rolloutArg);
  const load = (id: string): JournalRead => {
    let read = cache.get(id);
    if (read === undefined) cache.set(id, (read = readJournal(journalFile({ journalDir: src.journalDir, hostId: src.hostId }, id))));
    return read;
  };
  const read = load(rollout);
  const planned = readPlanned(read.entries);
  const changelogCves = planned.recordedCves === null && planned.event !== null ? await cvesOfEvent(planned.event, src.docRoot ?? DOC_ROOT) : undefined;
  const later: LaterFix[] = [];
  let asOf = read.entries.at(-1)?.ts;
  for (const id of listJournals(src.journalDir, src.hostId).filter((x) => x > rollout)) {
    const { entries } = load(id);
    later.push(...fixesOf(id, entries));
    const last = entries.at(-1)?.ts;
    if (last !== undefined && (asOf === undefined || last > asOf)) asOf = last;
  }
  return buildReport({
    host: src.hostId,
    rollout,
    read,
    later,
    ...(changelogCves !== undefined ? { changelogCves } : {}),
    ...(asOf !== undefined ? { asOf } : {}),
  });
}
