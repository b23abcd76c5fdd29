import { type JournalRead, listJournals, readJournal } from "../journal/journal.js";
import { journalFile } from "../journal/paths.js";
import { buildDigest, type Digest } from "./digest.js";
import { loadRolloutReport, type ReportSources } from "./load-report.js";

/**
 * The digest of every rollout of the host whose journal starts in [since, until], each report built from
 * the journals alone as `loadRolloutReport` does. Every journal is read once (retention bounds how many).
 */
export async function loadDigest(src: ReportSources, since: Date, until: Date): Promise<Digest> {
  const cache = new Map<string, JournalRead>();
  const inPeriod = listJournals(src.journalDir, src.hostId).filter((id) => {
    const read = readJournal(journalFile({ journalDir: src.journalDir, hostId: src.hostId }, id));
    cache.set(id, read);
    const first = read.entries[0]?.ts;
    const t = first === undefined ? Number.NaN : Date.parse(first);
    return t >= since.getTime() && t <= until.getTime();
  });
  const reports = [];
  for (const id of inPeriod) reports.push(await loadRolloutReport(src, id, cache));
  return buildDigest(src.hostId, since.toISOString(), until.toISOString(), reports);
}
