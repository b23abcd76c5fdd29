import { lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { parseChangelog } from "../../src/report/changelog-parse.js";
import { DOC_ROOT, packageCves, readInstalledChangelog } from "../../src/report/changelog-read.js";
import { cveIdsIn } from "../../src/report/cve-extract.js";
import { cvesFromChangelog } from "../../src/report/package-cves.js";

/**
 * CVE extraction from the Debian changelogs really installed on this machine, checked against dpkg's own
 * parser (dpkg-parsechangelog) as the oracle for which entries lie between two versions.
 */
const tool = { timeout: 60_000, forceKillAfterDelay: 2000 } as const;

interface Installed {
  name: string;
  file: string;
  text: string;
  version: string;
}

/** Every installed package's version, from one dpkg-query run (`NAME` and `NAME:ARCH` both map). */
async function installedVersions(): Promise<Map<string, string>> {
  const r = await execa("dpkg-query", ["-W", "-f", "${Package}\t${Version}\t${db:Status-Abbrev}\n"], tool);
  const out = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const [name, version, status] = line.split("\t");
    if (name && version && status?.startsWith("ii")) out.set(name, version);
  }
  return out;
}

/** The changes dpkg-parsechangelog gives for `since < version <= to`: the oracle. */
async function oracleCves(file: string, since: string, to: string): Promise<string[]> {
  const r = await execa("dpkg-parsechangelog", ["-l", file, "--since", since, "--to", to, "-S", "Changes"], tool);
  return [...new Set((r.stdout.match(/CVE-\d{4}-\d{4,}/gi) ?? []).map((x) => x.toUpperCase()))].sort();
}

const sorted = (ids: readonly string[]) => [...ids].sort();

describe("CVEs from the changelogs installed on this machine", () => {
  const changelogs: Installed[] = [];

  beforeAll(async () => {
    const versions = await installedVersions();
    for (const name of readdirSync(DOC_ROOT).sort()) {
      const file = join(DOC_ROOT, name, "changelog.Debian.gz");
      try {
        if (!statSync(file).isFile() || statSync(file).size > 300_000) continue;
      } catch {
        continue;
      }
      const version = versions.get(name);
      if (version !== undefined) changelogs.push({ name, file, text: gunzipSync(readFileSync(file)).toString("utf8"), version });
      if (changelogs.length >= 400) break;
    }
    expect(changelogs.length).toBeGreaterThan(50);
  }, 120_000);

  it("an entry naming several CVEs gives all of them, exactly the entries dpkg-parsechangelog selects", async () => {
    const checked: string[] = [];
    for (const c of changelogs) {
      const { entries } = parseChangelog(c.text);
      const k = entries.findIndex((e, i) => i + 1 < entries.length && cveIdsIn(e.body.join("\n")).length >= 3);
      if (k < 0) continue;
      const from = entries[k + 1]!.version;
      const to = entries[k]!.version;
      const got = cvesFromChangelog({ name: c.name, from, to }, c.text, c.file);
      expect(got.entries, `${c.name} ${from} -> ${to}`).toBe(1);
      expect(got.fixed.length).toBeGreaterThanOrEqual(3);
      expect(sorted(got.fixed.map((x) => x.id)), `${c.name} ${from} -> ${to}`).toEqual(await oracleCves(c.file, from, to));
      checked.push(`${c.name} ${to}: ${got.fixed.length}`);
      if (checked.length >= 8) break;
    }
    expect(checked.length, "packages with several CVEs in one changelog entry").toBeGreaterThanOrEqual(3);
  });

  it("a wide range gives the CVEs of every entry in it, as dpkg-parsechangelog does", async () => {
    let checked = 0;
    for (const c of changelogs) {
      const { entries } = parseChangelog(c.text);
      if (entries.length < 12) continue;
      const from = entries[10]!.version;
      const got = cvesFromChangelog({ name: c.name, from, to: c.version }, c.text, c.file);
      if (got.status !== "ok" || got.fixed.length < 5) continue;
      expect(sorted(got.fixed.map((x) => x.id)), `${c.name} ${from} -> ${c.version}`).toEqual(await oracleCves(c.file, from, c.version));
      if (++checked >= 5) break;
    }
    expect(checked).toBeGreaterThanOrEqual(3);
  });

  it("a package whose changelog names no CVE gives none, with status ok", async () => {
    const quiet = changelogs.filter((c) => cveIdsIn(c.text).length === 0 && parseChangelog(c.text).entries.length >= 3).slice(0, 5);
    expect(quiet.length).toBeGreaterThanOrEqual(3);
    for (const c of quiet) {
      const { entries } = parseChangelog(c.text);
      const got = await packageCves({ name: c.name, arch: "all", from: entries.at(-1)!.version, to: c.version, action: "upgrade" });
      expect(got, c.name).toMatchObject({ status: "ok", fixed: [], changelog: c.file });
      expect(got.entries).toBeGreaterThan(0);
    }
  });

  it("reads the versions of every entry as dpkg-parsechangelog does", async () => {
    const sample = changelogs.filter((_, i) => i % 15 === 0).slice(0, 20);
    for (const c of sample) {
      const r = await execa("dpkg-parsechangelog", ["-l", c.file, "--all", "--format", "rfc822"], tool);
      const oracle = r.stdout.split("\n").filter((l) => l.startsWith("Version: ")).map((l) => l.slice("Version: ".length));
      expect(parseChangelog(c.text).entries.map((e) => e.version), c.name).toEqual(oracle);
    }
  }, 120_000);

  it("real changelogs parse without problems; injected malformed lines are reported and skipped", () => {
    const clean = changelogs.filter((c) => parseChangelog(c.text).problems.length === 0);
    expect(clean.length / changelogs.length).toBeGreaterThan(0.95);
    const c = changelogs.find((x) => cveIdsIn(x.text).length >= 5)!;
    const lines = c.text.split("\n");
    const trailer = lines.findIndex((l) => l.startsWith(" -- "));
    const damaged = [...lines.slice(0, trailer), "NOT INDENTED CVE-1999-0001", ...lines.slice(trailer, trailer + 1), "junk between entries", ...lines.slice(trailer + 1)].join("\n");
    const log = parseChangelog(damaged);
    expect(log.problems.map((p) => p.line)).toEqual([trailer + 1, trailer + 3]);
    expect(log.entries.map((e) => e.version)).toEqual(parseChangelog(c.text).entries.map((e) => e.version));
  });

  it("follows a symlinked documentation directory, as dpkg installs them for packages of one source", async (ctx) => {
    const linked = readdirSync(DOC_ROOT).find((d) => lstatSync(join(DOC_ROOT, d)).isSymbolicLink() && statExists(join(DOC_ROOT, d, "changelog.Debian.gz")));
    if (linked === undefined) return ctx.skip("no symlinked documentation directory with a changelog on this machine");
    const found = await readInstalledChangelog({ name: linked, arch: "amd64" });
    expect(found?.path).toBe(join(DOC_ROOT, linked, "changelog.Debian.gz"));
    expect(parseChangelog(found!.text).entries.length).toBeGreaterThan(0);
  });

  it("puts a binary-only rebuild's own changelog (+bN) on top, so the installed version is covered", async (ctx) => {
    const arch = (await execa("dpkg", ["--print-architecture"], tool)).stdout.trim();
    const binNmu = changelogs.find((c) => /\+b\d+$/.test(c.version) && statExists(join(DOC_ROOT, c.name, `changelog.Debian.${arch}.gz`)));
    if (binNmu === undefined) return ctx.skip("no binNMU package with its own changelog on this machine");
    const { entries } = parseChangelog(binNmu.text);
    expect(entries[0]!.version).not.toBe(binNmu.version);
    const got = await packageCves({ name: binNmu.name, arch, from: entries.at(-1)!.version, to: binNmu.version, action: "upgrade" });
    expect(got.status, `${binNmu.name} ${binNmu.version}`).toBe("ok");
    expect(got.newestEntry).toBe(binNmu.version);
    // Without the +bN changelog the same change would look uncovered.
    expect(cvesFromChangelog({ name: binNmu.name, from: entries.at(-1)!.version, to: binNmu.version }, binNmu.text, binNmu.file).status).toBe("incomplete");
  });

  it("says so when there is no changelog, or when the installed one ends before the new version", async () => {
    expect(await packageCves({ name: "prt-no-such-package", arch: "all", from: "1.0", to: "1.1", action: "upgrade" })).toMatchObject({ status: "no-changelog", changelog: null });
    const c = changelogs[0]!;
    const got = await packageCves({ name: c.name, arch: "all", from: c.version, to: `${c.version}+zz9`, action: "upgrade" });
    expect(got).toMatchObject({ status: "incomplete", fixed: [] });
  });
});

function statExists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
