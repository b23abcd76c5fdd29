import { z } from "zod";
import type { PackageChange } from "../intake/apt-event.js";
import { compareDebianVersions } from "../intake/dpkg-log/version-compare.js";
import { isValidDebianVersion } from "../intake/debian-version.js";
import { parseChangelog } from "./changelog-parse.js";
import { cveMentions, entriesBetween } from "./cve-extract.js";

const CveMention = z.object({ id: z.string(), versions: z.array(z.string()) });

/**
 * The CVEs a package change closed, from the package's own changelog. This is also the shape of the
 * `cves` field of `rollout.planned` (one per changed package), which the report prefers when present.
 */
export const PackageCves = z.object({
  package: z.string(),
  arch: z.string().optional(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  /** The file read (`/usr/share/doc/PKG/changelog.Debian.gz`), or null when there was none. */
  changelog: z.string().nullable(),
  /** The newest version the changelog describes (the installed one when it was read). */
  newestEntry: z.string().nullable(),
  /**
   * `ok`: every entry from the old to the new version was there; `incomplete`: the changelog does not
   * cover the whole range (see `note`); `no-changelog`; `not-an-upgrade` (install, removal, reinstall);
   * `downgrade`: the change brought old code back (`reintroduced`).
   */
  status: z.enum(["ok", "incomplete", "no-changelog", "not-an-upgrade", "downgrade"]),
  note: z.string().optional(),
  /** CVE ids named by the entries after the old version up to the new one. */
  fixed: z.array(CveMention),
  /** For a downgrade: CVE ids named by the entries after the new version up to the old one. */
  reintroduced: z.array(CveMention),
  /** Changelog entries in the range. */
  entries: z.number().int().min(0),
  /** Lines of the changelog that do not fit its format (skipped). */
  malformedLines: z.number().int().min(0),
});
export type PackageCves = z.infer<typeof PackageCves>;

type Change = Pick<PackageChange, "name" | "from" | "to"> & { arch?: string | undefined };

/**
 * Works out the CVEs of one package change from its changelog text (pure). `text` is undefined when no
 * changelog was found; `path` names the file read.
 */
export function cvesFromChangelog(change: Change, text: string | undefined, path: string | null): PackageCves {
  const base = {
    package: change.name,
    ...(change.arch !== undefined ? { arch: change.arch } : {}),
    from: change.from,
    to: change.to,
    changelog: text === undefined ? null : path,
    fixed: [],
    reintroduced: [],
    entries: 0,
    malformedLines: 0,
  };
  const { from, to } = change;
  if (from === null || to === null || from === to || !isValidDebianVersion(from) || !isValidDebianVersion(to)) {
    const what = from === null ? "a fresh install: nothing ran the old code" : to === null ? "a removal" : "no version change";
    return { ...base, newestEntry: null, status: "not-an-upgrade", note: what };
  }
  if (text === undefined) {
    return { ...base, newestEntry: null, status: "no-changelog", note: "no changelog.Debian.gz in the package's documentation directory (removed, or excluded by a dpkg path-exclude)" };
  }
  const log = parseChangelog(text);
  const versions = log.entries.map((e) => e.version).filter(isValidDebianVersion).sort(compareDebianVersions);
  const newest = versions.at(-1) ?? null;
  const oldest = versions[0] ?? null;
  const withText = { ...base, newestEntry: newest, malformedLines: log.problems.length };
  if (compareDebianVersions(to, from) < 0) {
    const back = entriesBetween(log.entries, to, from);
    return { ...withText, status: "downgrade", reintroduced: cveMentions(back), entries: back.length, note: `a downgrade from ${from} to ${to}: the fixes of the entries in between are gone again` };
  }
  const range = entriesBetween(log.entries, from, to);
  const gaps: string[] = [];
  if (newest === null || compareDebianVersions(newest, to) < 0) gaps.push(`the changelog read ends at ${newest ?? "nothing"}, before ${to} (the package was downgraded or removed since)`);
  if (oldest !== null && compareDebianVersions(oldest, from) > 0) gaps.push(`the changelog starts at ${oldest}, after ${from} (older entries were trimmed)`);
  return {
    ...withText,
    status: gaps.length > 0 ? "incomplete" : "ok",
    fixed: cveMentions(range),
    entries: range.length,
    ...(gaps.length > 0 ? { note: gaps.join("; ") } : {}),
  };
}
