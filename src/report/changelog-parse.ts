/** One entry of a Debian changelog (deb-changelog(5)). */
export interface ChangelogEntry {
  /** Source package named in the header. */
  source: string;
  version: string;
  distributions: string;
  urgency?: string;
  /** The lines between the header and the trailer, as written. */
  body: string[];
  /** `Name <email>` of the trailer, when there is one. */
  maintainer?: string;
  /** RFC 5322 date of the trailer, as written. */
  date?: string;
  /** 1-based line number of the header. */
  line: number;
}

export interface Changelog {
  entries: ChangelogEntry[];
  /** Lines the format does not allow, with their number; they are skipped, never fatal. */
  problems: { line: number; reason: string }[];
  /** Line where an ancient-format tail starts (kept unparsed, as dpkg does), if there is one. */
  ancientTailAt?: number;
}

// The expressions of dpkg's own parser (Dpkg::Changelog::Entry::Debian), kept loose where dpkg is loose.
const HEADER = /^(\w[-+0-9a-z.]*) \(([^() \t]+)\)((?:\s+[-+0-9a-z.]+)+);(.*)$/i;
const TRAILER = /^ -- (.*?<.*?>)( {1,2}|\t)(.*)$/;
const URGENCY = /(?:^|[\s,])urgency=([^\s,]+)/i;
/** Where dpkg stops reading: an editor's variables block at the end of the file. */
const EDITOR_VARIABLES = /^(?:(?:;;\s*)?local variables:|vim:)/i;
/** Lines dpkg skips: `# ` comments (debhelper's "Older entries have been removed"), C comments, RCS keywords. */
const SKIPPED = /^(?:# |\/\*.*\*\/|\$\w+:.*\$)/;
/** The start of an ancient-format tail, which dpkg keeps unparsed (the shapes of its $ancient_delimiter_re). */
const ANCIENT = new RegExp(
  [
    String.raw`^\w+\s+\w+\s+\d{1,2} \d{1,2}:\d{1,2}:\d{1,2}\s+[\w\s]*\d{4}\s+.*\s+[<(].*[)>]`,
    String.raw`^\w+\s+\w+\s+\d{1,2},?\s*\d{4}\s+.*\s+[<(].*[)>]`,
    String.raw`^\w[-+0-9a-z.]* \([^() \t]+\);?`,
    String.raw`^[\w.+-]+[- ]\S+ Debian \S+`,
    String.raw`^Changes from version .* to .*:`,
    String.raw`^Changes for [\w.+-]+-[\w.+-]+:?\s*$`,
    String.raw`^Old Changelog:\s*$`,
    String.raw`^ \*\*\* `,
  ].join("|"),
  "i",
);

/**
 * Parses a Debian changelog (pure). Tolerant as dpkg-parsechangelog is: a line that fits nowhere is
 * reported and skipped, an entry without its trailer is kept, and parsing stops at an old-format tail.
 */
export function parseChangelog(text: string): Changelog {
  const entries: ChangelogEntry[] = [];
  const problems: Changelog["problems"] = [];
  let current: ChangelogEntry | undefined;
  let closed = true;
  let ancientTailAt: number | undefined;
  const lines = text.split("\n");
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, "");
    const n = i + 1;
    if (EDITOR_VARIABLES.test(line)) break;
    if (SKIPPED.test(line)) continue;
    const header = HEADER.exec(line);
    if (header !== null) {
      if (!closed && current !== undefined) problems.push({ line: current.line, reason: `entry ${current.version} has no trailer line (" -- NAME <EMAIL>  DATE")` });
      const urgency = URGENCY.exec(header[4] ?? "")?.[1];
      current = { source: header[1]!, version: header[2]!, distributions: header[3]!.trim(), body: [], line: n, ...(urgency !== undefined ? { urgency } : {}) };
      entries.push(current);
      closed = false;
      continue;
    }
    const trailer = TRAILER.exec(line);
    if (trailer !== null) {
      if (current === undefined || closed) problems.push({ line: n, reason: "trailer line outside an entry" });
      else {
        current.maintainer = trailer[1]!;
        current.date = trailer[3]!.trim();
        closed = true;
      }
      continue;
    }
    if (line.trim() === "") {
      if (!closed) current?.body.push(line);
      continue;
    }
    if ((current === undefined || closed) && ANCIENT.test(line)) {
      ancientTailAt = n;
      break;
    }
    if (current === undefined || closed) {
      problems.push({ line: n, reason: "text outside an entry (expected a header: \"SOURCE (VERSION) DIST; urgency=U\")" });
    } else {
      if (!/^\s/.test(line)) problems.push({ line: n, reason: "badly formatted line inside an entry (not indented)" });
      current.body.push(line);
    }
  }
  if (!closed && current !== undefined) problems.push({ line: current.line, reason: `entry ${current.version} has no trailer line (" -- NAME <EMAIL>  DATE")` });
  for (const e of entries) {
    while (e.body.length > 0 && e.body.at(-1)!.trim() === "") e.body.pop();
    while (e.body.length > 0 && e.body[0]!.trim() === "") e.body.shift();
  }
  return { entries, problems, ...(ancientTailAt !== undefined ? { ancientTailAt } : {}) };
}

/** True when `text` starts like a Debian changelog (a native package's `changelog.gz` does; an upstream one does not). */
export function looksLikeDebianChangelog(text: string): boolean {
  const first = text.split("\n").find((l) => l.trim() !== "");
  return first !== undefined && HEADER.test(first);
}
