import { readFileSync } from "node:fs";
import type { ParseWarning } from "../../../src/intake/tail/line.js";
import { UuDpkgBlockAssembler } from "../../../src/intake/uu-log/dpkg-blocks.js";
import { parseUuLogLine } from "../../../src/intake/uu-log/parse.js";
import type { UuRun } from "../../../src/intake/uu-log/run.js";
import { UuRunTracker } from "../../../src/intake/uu-log/tracker.js";

/** Every run in a pair of unattended-upgrades logs, read whole, plus the parse warnings. */
export function runsFromFiles(mainLog: string, dpkgLog: string): { runs: UuRun[]; warnings: ParseWarning[] } {
  const tracker = new UuRunTracker();
  const warnings: ParseWarning[] = [];
  const assembler = new UuDpkgBlockAssembler();
  linesOf(dpkgLog).forEach((line, i) => {
    for (const b of assembler.push(line, { file: dpkgLog, lineNo: i + 1 })) tracker.pushBlock(b);
  });
  const runs: UuRun[] = [];
  linesOf(mainLog).forEach((line, i) => {
    const { entry, warning } = parseUuLogLine(line, { file: mainLog, lineNo: i + 1 });
    if (warning) warnings.push(warning);
    runs.push(...tracker.push(entry));
  });
  const last = tracker.finish();
  if (last) runs.push(last);
  return { runs, warnings };
}

function linesOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const lines = text.split("\n");
  lines.pop();
  return lines;
}
