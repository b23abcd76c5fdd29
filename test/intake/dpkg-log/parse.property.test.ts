import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { changeGroups } from "../../../src/intake/dpkg-log/changes.js";
import { groupDpkgRuns, parseDpkgLogLine, type DpkgLogEntry } from "../../../src/intake/dpkg-log/parse.js";
import { FILE, mangled } from "../tail/mangled-lines.js";

const dpkgLines = [
  "2026-11-23 05:43:13 startup archives unpack",
  "2026-11-23 05:43:13 upgrade libssl3:amd64 3.0.17-1~deb12u2 3.0.17-1~deb12u3",
  "2026-11-23 05:43:13 status unpacked libssl3:amd64 3.0.17-1~deb12u3",
  "2026-11-23 05:43:14 startup packages configure",
  "2026-11-23 05:43:14 configure libssl3:amd64 3.0.17-1~deb12u3 <none>",
  "2026-11-23 05:43:14 remove gone:amd64 1.0 <none>",
  "2026-11-23 05:43:14 trigproc libc-bin:amd64 2.36-9+deb12u14 <none>",
];

describe("dpkg.log parser never crashes and names file and line in every warning", () => {
  it("dpkg.log parser and change grouping", () => {
    fc.assert(
      fc.property(fc.array(mangled(dpkgLines), { maxLength: 60 }), (lines) => {
        const entries: DpkgLogEntry[] = [];
        lines.forEach((line, i) => {
          const p = parseDpkgLogLine(line, { file: FILE, lineNo: i + 1 });
          if (p.entry) entries.push(p.entry);
          else {
            expect(p.warning.lineNo).toBe(i + 1);
            expect(p.warning.message.startsWith(`${FILE}:${i + 1}: `)).toBe(true);
          }
        });
        const { groups, warnings } = changeGroups(groupDpkgRuns(entries));
        for (const w of warnings) expect(w.file).toBe(FILE);
        for (const g of groups) for (const p of g.packages) expect(p.from !== null || p.to !== null).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

});
