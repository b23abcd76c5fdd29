import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { changeGroups } from "../../../src/intake/dpkg-log/changes.js";
import { readLogLines, rotatedLogFiles } from "../../../src/intake/dpkg-log/log-files.js";
import { groupDpkgRuns, parseDpkgLogLine, type DpkgLogEntry } from "../../../src/intake/dpkg-log/parse.js";
import { reconcileDpkgLog } from "../../../src/intake/dpkg-log/reconcile.js";
import type { ParseWarning } from "../../../src/intake/tail/line.js";
import { tempDir } from "../tail/log-helpers.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

async function parseAll(files: string[]): Promise<{ entries: DpkgLogEntry[]; warnings: ParseWarning[]; lines: number }> {
  const entries: DpkgLogEntry[] = [];
  const warnings: ParseWarning[] = [];
  let lines = 0;
  for (const file of files) {
    for (const l of await readLogLines(file)) {
      lines++;
      const p = parseDpkgLogLine(l.line, l);
      if (p.entry) entries.push(p.entry);
      else warnings.push(p.warning);
    }
  }
  return { entries, warnings, lines };
}

describe("this machine's dpkg.log (read-only)", () => {
  it.runIf(existsSync("/var/log/dpkg.log"))("parses /var/log/dpkg.log and its rotated files without a warning", async () => {
    const files = await rotatedLogFiles("/var/log/dpkg.log");
    const { entries, warnings, lines } = await parseAll(files.reverse());
    expect(warnings).toEqual([]);
    expect(entries).toHaveLength(lines);
    const groups = changeGroups(groupDpkgRuns(entries));
    expect(groups.warnings).toEqual([]);
    expect(groups.groups.length).toBeGreaterThan(0);
  });

  it.runIf(existsSync("/var/log/dpkg.log"))("reconciles it from a point in the past without a warning", async () => {
    const t = tempDir("host-dpkg");
    cleanups.push(t.cleanup);
    const r = await reconcileDpkgLog({ logPath: "/var/log/dpkg.log", checkpointFile: join(t.dir, "cp.json"), since: new Date(0) });
    expect(r.warnings).toEqual([]);
    expect(r.groups.flatMap((g) => g.packages).length).toBeGreaterThan(0);
  });

  it("parses the dpkg.log that apt + dpkg wrote under unattended-upgrades (fixture)", async () => {
    const fixture = fileURLToPath(new URL("../../fixtures/logs/dpkg-real-sandbox.log.txt", import.meta.url));
    const { entries, warnings } = await parseAll([fixture]);
    expect(warnings).toEqual([]);
    const show = (gap: number) =>
      changeGroups(groupDpkgRuns(entries), { joinGapSeconds: gap }).groups.map((g) => g.packages.map((p) => `${p.action} ${p.name} ${p.from ?? "-"} ${p.to ?? "-"}`));
    // dpkg -i at :47, u-u's unpack+configure at :51, dpkg -i and u-u again at :02 (11 s later).
    expect(show(2)).toEqual([["install prdemo - 1.0"], ["upgrade prdemo 1.0 1.1"], ["install prblack - 1.0", "upgrade prdemo 1.1 1.2"]]);
    // The default 30 s join gap takes runs that close together as one apt run: the net change.
    expect(show(30)).toEqual([["install prdemo - 1.2", "install prblack - 1.0"]]);
  });
});
