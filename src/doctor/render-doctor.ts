import { runbookFile } from "../status/runbooks.js";
import type { CheckResult } from "./check.js";

/** `patchroll doctor` as text (pure): one line per check, then each finding with its fix. */
export function renderDoctor(results: readonly CheckResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const status = r.skipped !== undefined ? "skip" : r.findings.length === 0 ? "ok" : r.findings.some((f) => f.severity === "error") ? "FAIL" : "warn";
    lines.push(`${status.padEnd(5)} ${r.title}${r.skipped !== undefined ? ` (${r.skipped})` : ""}`);
    for (const f of r.findings) {
      lines.push(`      ${f.severity === "error" ? "x" : "!"} ${f.problem}`);
      f.fix.split("\n").forEach((l, i) => lines.push(`        ${i === 0 ? "fix:     " : "         "}${l}`));
      if (f.runbook !== undefined) lines.push(`        runbook: ${runbookFile(f.runbook)}`);
    }
  }
  const n = results.reduce((s, r) => s + r.findings.length, 0);
  lines.push("", n === 0 ? "no problems found" : `${n} problem(s) found`);
  return lines.join("\n");
}
