/**
 * `patchroll scan` of 200 running containers (each a small real process: busybox httpd), target < 2 s.
 * Run as root: npm run build && node dist/bench/scan.bench.js [--containers 200] [--runs 5]
 */
import { parseArgs } from "node:util";
import { scanHost } from "../src/detect/scan.js";
import { startFleet } from "./lxc-fleet.js";
import { benchRow, percentile } from "./report.js";

const { values } = parseArgs({ options: { containers: { type: "string", default: "200" }, runs: { type: "string", default: "5" } } });
const N = Number(values.containers);
const fleet = await startFleet("scan", N);
try {
  const where = { lxcPath: fleet.lxcPath, hostRoot: fleet.hostRoot, driver: fleet.driver };
  const withPackages: number[] = [];
  const everything: number[] = [];
  let verdicts = "";
  for (let r = 0; r < Number(values.runs); r++) {
    let t0 = performance.now();
    const found = await scanHost(where, { packages: ["busybox", "libc6"] });
    withPackages.push(performance.now() - t0);
    t0 = performance.now();
    await scanHost(where);
    everything.push(performance.now() - t0);
    const counts = new Map<string, number>();
    for (const f of found) counts.set(f.scan.verdict, (counts.get(f.scan.verdict) ?? 0) + 1);
    verdicts = [...counts].map(([v, n]) => `${n} ${v}`).join(", ");
  }
  console.log(`${N} running containers (${verdicts}); scan with packages busybox+libc6 (stale and shadow checks): median ${percentile(withPackages, 50).toFixed(0)} ms; every mapped file: ${percentile(everything, 50).toFixed(0)} ms`);
  console.log(benchRow("scan", `${N} running containers, packages busybox+libc6 (median)`, percentile(withPackages, 50), "ms", "< 2000"));
  console.log(benchRow("scan", `${N} running containers, every mapped file (median)`, percentile(everything, 50), "ms", "< 2000"));
} finally {
  await fleet.destroy();
}
