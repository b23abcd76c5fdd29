import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

/**
 * `npm run bench`: runs every benchmark (compiled `*.bench.js` next to this file, and `*.bench.sh` in the
 * source bench/ dir), shows their own output, then one table of every figure they reported as BENCH rows.
 * Pass names to run only those: `npm run bench -- snapshot`.
 */
const here = dirname(fileURLToPath(import.meta.url));
const sourceDir = join(here, "..", "..", "bench");
const only = process.argv.slice(2);
const benches = [
  ...readdirSync(here).filter((f) => f.endsWith(".bench.js")).map((f) => ({ name: f.replace(/\.bench\.js$/, ""), file: process.execPath, args: [join(here, f)] })),
  ...readdirSync(sourceDir).filter((f) => f.endsWith(".bench.sh")).map((f) => ({ name: f.replace(/\.bench\.sh$/, ""), file: "sh", args: [join(sourceDir, f)] })),
].filter((b) => only.length === 0 || only.includes(b.name));

const rows: string[][] = [];
let failed = 0;
for (const b of benches) {
  process.stdout.write(`\n### ${b.name}\n`);
  const run = execa(b.file, b.args, { reject: false, all: true, timeout: 15 * 60_000 });
  run.all?.on("data", (chunk: Buffer) => process.stdout.write(chunk));
  const result = await run;
  if (result.exitCode !== 0) {
    failed++;
    rows.push([b.name, "(failed)", String(result.exitCode), "exit code", "-"]);
  }
  for (const line of String(result.all ?? "").split("\n")) {
    const cells = line.split("\t");
    if (cells[0] === "BENCH" && cells.length >= 6) rows.push(cells.slice(1, 6));
  }
}
const header = ["BENCHMARK", "METRIC", "VALUE", "UNIT", "TARGET"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
const fmt = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
process.stdout.write(`\n${fmt(header)}\n| ${widths.map((w) => "-".repeat(w)).join(" | ")} |\n${rows.map(fmt).join("\n")}\n`);
process.exitCode = failed > 0 ? 1 : 0;
