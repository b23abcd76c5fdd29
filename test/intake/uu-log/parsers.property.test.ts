import fc from "fast-check";
import { FILE, mangled } from "../tail/mangled-lines.js";
import { describe, expect, it } from "vitest";
import { UuDpkgBlockAssembler } from "../../../src/intake/uu-log/dpkg-blocks.js";
import { parseUuLogLine } from "../../../src/intake/uu-log/parse.js";
import { UuRunTracker } from "../../../src/intake/uu-log/tracker.js";


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

describe("unattended-upgrades parsers never crash and name file and line in every warning", () => {
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

});
