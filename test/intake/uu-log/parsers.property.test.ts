import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { changeGroups } from "../../../src/intake/dpkg-log/changes.js";
import { groupDpkgRuns, parseDpkgLogLine, type DpkgLogEntry } from "../../../src/intake/dpkg-log/parse.js";
import { LineSplitter } from "../../../src/intake/tail/line-splitter.js";
import { UuDpkgBlockAssembler } from "../../../src/intake/uu-log/dpkg-blocks.js";
import { parseUuLogLine } from "../../../src/intake/uu-log/parse.js";
import { UuRunTracker } from "../../../src/intake/uu-log/tracker.js";

const FILE = "/var/log/some.log";

// Realistic lines, then the same cut short, mangled, blown up, or replaced by noise.
const uuLines = [
  "2026-11-23 05:43:13,475 INFO Starting unattended upgrades script",
  "2026-11-23 05:43:13,476 INFO Allowed origins are: origin=Debian,codename=bookworm,label=Debian-Security",
  "2026-11-23 05:43:13,500 INFO Packages that will be upgraded: libssl3 openssl",
  "2026-11-23 05:43:15,000 ERROR Installing the upgrades failed!",
  "2026-11-23 05:43:15,001 ERROR error message: installArchives() failed",
  "2026-11-23 05:43:16,000 INFO All upgrades installed",
  "2026-11-23 05:43:16,001 INFO Package prblack is blacklisted.",
  'Traceback (most recent call last):',
];
const dpkgLines = [
  "2026-11-23 05:43:13 startup archives unpack",
  "2026-11-23 05:43:13 upgrade libssl3:amd64 3.0.17-1~deb12u2 3.0.17-1~deb12u3",
  "2026-11-23 05:43:13 status unpacked libssl3:amd64 3.0.17-1~deb12u3",
  "2026-11-23 05:43:14 startup packages configure",
  "2026-11-23 05:43:14 configure libssl3:amd64 3.0.17-1~deb12u3 <none>",
  "2026-11-23 05:43:14 remove gone:amd64 1.0 <none>",
  "2026-11-23 05:43:14 trigproc libc-bin:amd64 2.36-9+deb12u14 <none>",
];

const mangled = (real: string[]) =>
  fc.oneof(
    fc.constantFrom(...real),
    fc.tuple(fc.constantFrom(...real), fc.nat()).map(([l, n]) => l.slice(0, n % (l.length + 1))), // truncated
    fc.tuple(fc.constantFrom(...real), fc.string({ unit: "binary", maxLength: 40 })).map(([l, s]) => l + s), // trailing junk
    fc.tuple(fc.constantFrom(...real), fc.nat({ max: 200_000 })).map(([l, n]) => l + "x".repeat(n)), // huge
    fc.string({ unit: "binary", maxLength: 300 }), // any Unicode, incl. U+2028, \r, lone surrogates
    fc.string({ unit: "grapheme-ascii", maxLength: 80 }).map((s) => `2026-11-23 05:43:13 ${s}`),
    fc.string({ unit: "grapheme-ascii", maxLength: 80 }).map((s) => `2026-11-23 05:43:13,000 ${s}`),
  );

describe("parsers never crash and name file and line in every warning", () => {
  it("unattended-upgrades log parser and run tracker", () => {
    fc.assert(
      fc.property(fc.array(mangled(uuLines), { maxLength: 60 }), (lines) => {
        const tracker = new UuRunTracker();
        lines.forEach((line, i) => {
          const { entry, warning } = parseUuLogLine(line, { file: FILE, lineNo: i + 1 });
          if (warning) {
            expect(warning.file).toBe(FILE);
            expect(warning.lineNo).toBe(i + 1);
            expect(warning.message.startsWith(`${FILE}:${i + 1}: `)).toBe(true);
            expect(warning.message.length).toBeLessThan(400);
          }
          for (const run of tracker.push(entry)) expect(["ok", "failed", "partial"]).toContain(run.outcome.status);
        });
        const last = tracker.finish();
        if (last) expect(JSON.parse(JSON.stringify(last))).toEqual(last);
      }),
      { numRuns: 300 },
    );
  });

  it("unattended-upgrades dpkg log assembler", () => {
    const blockLines = ["Log started: 2026-11-23  05:43:13", "Setting up libssl3:amd64 (3.0.17-1~deb12u3) ...\r", "dpkg: error processing package libssl3:amd64 (--configure):", "Errors were encountered while processing:", " libssl3:amd64", "Log ended: 2026-11-23  05:43:14", ""];
    fc.assert(
      fc.property(fc.array(mangled(blockLines), { maxLength: 60 }), (lines) => {
        const a = new UuDpkgBlockAssembler();
        const tracker = new UuRunTracker();
        lines.forEach((line, i) => a.push(line, { file: FILE, lineNo: i + 1 }).forEach((b) => tracker.pushBlock(b)));
        expect(tracker.snapshot().pendingBlocks.length).toBeLessThanOrEqual(50);
      }),
      { numRuns: 300 },
    );
  });

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

  it("line splitter: any byte stream cut anywhere gives the same lines as cutting it whole", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat({ max: 2000 }), { maxLength: 10 }), (bytes, cuts) => {
        const data = Buffer.from(bytes);
        const whole = new LineSplitter({ startOffset: 0, linesBefore: 0, maxLineBytes: 64 }).push(data);
        const s = new LineSplitter({ startOffset: 0, linesBefore: 0, maxLineBytes: 64 });
        const points = [...new Set(cuts.map((c) => Math.min(c, data.length)))].sort((a, b) => a - b);
        let at = 0;
        const pieces = [];
        for (const p of [...points, data.length]) {
          pieces.push(...s.push(data.subarray(at, p)));
          at = p;
        }
        expect(pieces).toEqual(whole);
        expect(s.committedOffset).toBe(data.lastIndexOf(0x0a) + 1);
        for (const l of whole) expect(Buffer.byteLength(l.text)).toBeLessThanOrEqual(64 * 3);
      }),
      { numRuns: 300 },
    );
  });
});
