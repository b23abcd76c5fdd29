import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { looksLikeDebianChangelog, parseChangelog } from "../../src/report/changelog-parse.js";
import { cveIdsIn, cveMentions, entriesBetween } from "../../src/report/cve-extract.js";
import { cvesFromChangelog } from "../../src/report/package-cves.js";

const LOG = [
  "libfoo (1.2-1+deb12u2) bookworm-security; urgency=high",
  "",
  "  * CVE-2026-1111 (overflow) and CVE-2026-2222 (use-after-free).",
  "  * Also closes CVE-2026-3333, CVE-2026-1111 again.",
  "",
  " -- Jane Doe <jane@example.org>  Mon, 02 Mar 2026 07:59:41 +0100",
  "",
  "libfoo (1.2-1+deb12u1) bookworm; urgency=medium",
  "",
  "  * Rebuild, no security change.",
  "",
  " -- Jane Doe <jane@example.org>  Sun, 01 Mar 2026 07:59:41 +0100",
  "",
  "libfoo (1.2-1) unstable; urgency=low",
  "",
  "  * Initial release; not affected by CVE-2020-0001.",
  "",
  " -- Jane Doe <jane@example.org>  Sat, 28 Feb 2026 07:59:41 +0100",
  "",
].join("\n");

describe("parseChangelog", () => {
  it("reads every entry: source, version, distribution, urgency, body and trailer", () => {
    const log = parseChangelog(LOG);
    expect(log.problems).toEqual([]);
    expect(log.entries.map((e) => [e.source, e.version, e.distributions, e.urgency])).toEqual([
      ["libfoo", "1.2-1+deb12u2", "bookworm-security", "high"],
      ["libfoo", "1.2-1+deb12u1", "bookworm", "medium"],
      ["libfoo", "1.2-1", "unstable", "low"],
    ]);
    expect(log.entries[0]!.body).toHaveLength(2);
    expect(log.entries[0]!.maintainer).toBe("Jane Doe <jane@example.org>");
    expect(log.entries[0]!.date).toBe("Mon, 02 Mar 2026 07:59:41 +0100");
  });

  it("reports malformed lines with their number and still reads the entries around them", () => {
    const damaged = LOG.replace(" -- Jane Doe <jane@example.org>  Sun, 01 Mar", "garbage outside\n -- Jane Doe <jane@example.org>  Sun, 01 Mar")
      .replace("libfoo (1.2-1) unstable", "stray words between entries\nlibfoo (1.2-1) unstable");
    const log = parseChangelog(damaged);
    expect(log.entries.map((e) => e.version)).toEqual(["1.2-1+deb12u2", "1.2-1+deb12u1", "1.2-1"]);
    expect(log.problems).toEqual([
      { line: 12, reason: "badly formatted line inside an entry (not indented)" },
      { line: 15, reason: expect.stringMatching(/^text outside an entry/) },
    ]);
  });

  it("keeps an entry whose trailer is missing, and says so", () => {
    const log = parseChangelog(LOG.replace(" -- Jane Doe <jane@example.org>  Mon, 02 Mar 2026 07:59:41 +0100\n", ""));
    expect(log.entries).toHaveLength(3);
    expect(log.problems).toEqual([{ line: 1, reason: expect.stringContaining("1.2-1+deb12u2 has no trailer") }]);
  });

  it("skips comment lines and stops at an ancient-format tail or editor variables, as dpkg does", () => {
    const log = parseChangelog(`${LOG}# Older entries have been removed from this changelog.\n\nlibfoo (0.9-3):\n\nRemove lib*.so links.\n`);
    expect(log.problems).toEqual([]);
    expect(log.ancientTailAt).toBe(21);
    expect(parseChangelog(`${LOG}Local variables:\nmode: debian-changelog\nEnd:\n`).problems).toEqual([]);
  });

  it("reads CRLF line ends", () => {
    expect(parseChangelog(LOG.replaceAll("\n", "\r\n")).entries.map((e) => e.version)).toHaveLength(3);
  });

  it("never throws, whatever the text", () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), (text) => {
      const log = parseChangelog(text);
      expect(Array.isArray(log.entries)).toBe(true);
    }));
  });

  it("tells a Debian changelog from an upstream one", () => {
    expect(looksLikeDebianChangelog(LOG)).toBe(true);
    expect(looksLikeDebianChangelog("2026-01-01  Jane Doe  <jane@example.org>\n\n\t* foo.c: fix\n")).toBe(false);
  });
});

describe("CVE ids", () => {
  it("finds every id once, upper-cased, in id order, and nothing glued to other words", () => {
    expect(cveIdsIn("fix cve-2023-5678, CVE-2023-1234 and CVE-2023-50387_CVE-2023-50868; CVE-2021-44228.")).toEqual(["CVE-2021-44228", "CVE-2023-1234", "CVE-2023-5678", "CVE-2023-50387", "CVE-2023-50868"]);
    expect(cveIdsIn("xCVE-2020-1234 CVE-2020-123 CVE-20-1234 CVE-2020-1234x")).toEqual([]);
    expect(cveIdsIn("debian/patches/CVE-2024-33599-nscd.diff")).toEqual(["CVE-2024-33599"]);
  });

  it("finds any id written in any text", () => {
    const id = fc.tuple(fc.integer({ min: 1999, max: 2099 }), fc.integer({ min: 1000, max: 99_999_999 })).map(([y, n]) => `CVE-${y}-${n}`);
    fc.assert(fc.property(fc.array(id, { minLength: 1, maxLength: 6 }), fc.array(fc.constantFrom(" ", ", ", " (", ") ", "\n  - ", ": ")), (ids, seps) => {
      const text = ids.map((x, i) => `${seps[i % Math.max(seps.length, 1)] ?? " "}${i % 2 === 0 ? x : x.toLowerCase()}`).join(" ");
      expect(cveIdsIn(text)).toEqual([...new Set(ids)].sort((a, b) => {
        const [, ya, na] = a.split("-");
        const [, yb, nb] = b.split("-");
        return Number(ya) - Number(yb) || Number(na) - Number(nb);
      }));
    }));
  });

  it("takes the entries after the old version up to the new one, in Debian order", () => {
    const { entries } = parseChangelog(LOG);
    expect(entriesBetween(entries, "1.2-1", "1.2-1+deb12u2").map((e) => e.version)).toEqual(["1.2-1+deb12u2", "1.2-1+deb12u1"]);
    expect(cveMentions(entriesBetween(entries, "1.2-1", "1.2-1+deb12u2"))).toEqual([
      { id: "CVE-2026-1111", versions: ["1.2-1+deb12u2"] },
      { id: "CVE-2026-2222", versions: ["1.2-1+deb12u2"] },
      { id: "CVE-2026-3333", versions: ["1.2-1+deb12u2"] },
    ]);
    expect(entriesBetween(entries, "1.2-1+deb12u1", "1.2-1+deb12u1")).toEqual([]);
  });
});

describe("cvesFromChangelog", () => {
  const change = (from: string | null, to: string | null) => ({ name: "libfoo", arch: "amd64", from, to });

  it("an upgrade: the CVEs of the entries in between; none for an entry without any", () => {
    const up = cvesFromChangelog(change("1.2-1", "1.2-1+deb12u2"), LOG, "/doc/libfoo/changelog.Debian.gz");
    expect(up).toMatchObject({ status: "ok", entries: 2, newestEntry: "1.2-1+deb12u2", changelog: "/doc/libfoo/changelog.Debian.gz" });
    expect(up.fixed.map((c) => c.id)).toEqual(["CVE-2026-1111", "CVE-2026-2222", "CVE-2026-3333"]);
    const quiet = cvesFromChangelog(change("1.2-1", "1.2-1+deb12u1"), LOG, "x");
    expect(quiet).toMatchObject({ status: "ok", entries: 1, fixed: [] });
  });

  it("a downgrade brings the fixes' CVEs back", () => {
    const down = cvesFromChangelog(change("1.2-1+deb12u2", "1.2-1"), LOG, "x");
    expect(down.status).toBe("downgrade");
    expect(down.reintroduced.map((c) => c.id)).toEqual(["CVE-2026-1111", "CVE-2026-2222", "CVE-2026-3333"]);
  });

  it("says when the changelog does not cover the range, or is missing, or nothing was upgraded", () => {
    expect(cvesFromChangelog(change("1.2-1", "1.3-1"), LOG, "x")).toMatchObject({ status: "incomplete", note: expect.stringContaining("ends at 1.2-1+deb12u2, before 1.3-1") });
    expect(cvesFromChangelog(change("1.1-1", "1.2-1"), LOG, "x")).toMatchObject({ status: "incomplete", note: expect.stringContaining("starts at 1.2-1, after 1.1-1") });
    expect(cvesFromChangelog(change("1.2-1", "1.2-1+deb12u2"), undefined, "x")).toMatchObject({ status: "no-changelog", changelog: null });
    expect(cvesFromChangelog(change(null, "1.2-1"), LOG, "x")).toMatchObject({ status: "not-an-upgrade", fixed: [] });
    expect(cvesFromChangelog(change("1.2-1", null), LOG, "x")).toMatchObject({ status: "not-an-upgrade" });
  });
});
