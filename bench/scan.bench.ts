/**
 * `patchroll scan` of 200 running containers (each a small real process: busybox httpd; every tenth also
 * runs a Python, a Perl or a shell script process), target < 2 s. Each scan is timed with every check
 * (maps, open files, interpreted code, the shadow check of files in use) and side by side with the
 * memory maps alone, with and without packages.
 * Run as root: npm run build && node dist/bench/scan.bench.js [--containers 200] [--runs 5]
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { deltaDirOf } from "../src/containers/provision.js";
import { type HostScanOptions, scanHost } from "../src/detect/scan.js";
import { startFleet } from "./lxc-fleet.js";
import { benchRow, percentile } from "./report.js";

const { values } = parseArgs({ options: { containers: { type: "string", default: "200" }, runs: { type: "string", default: "5" } } });
const N = Number(values.containers);
const MAPS_ONLY = { openFiles: false, interpreters: false, shadowInUse: false };
// Interpreted services: the scan follows what each loads (the Python one, its stdlib imports).
const SCRIPTS: [string, string, string][] = [
  ["app.py", "import json, http.server, time\ntime.sleep(100000)\n", "python3 /srv/app.py"],
  ["app.pl", "use strict;\nuse warnings;\nuse POSIX;\nsleep 100000;\n", "perl /srv/app.pl"],
  ["app.sh", "while :; do sleep 60; done\n", "sh /srv/app.sh"],
];
const fleet = await startFleet("scan", N);
try {
  let interpreted = 0;
  for (let i = 0; i < fleet.containers.length; i += 10) {
    const c = fleet.containers[i]!;
    const [file, text, command] = SCRIPTS[(i / 10) % SCRIPTS.length]!;
    writeFileSync(join(deltaDirOf(fleet.lxcPath, c.name), "srv", file), text);
    const r = await fleet.driver.attach(c.name, ["/bin/sh", "-c", `${command} </dev/null >/dev/null 2>&1 &`], 10_000);
    if (r.exitCode === 0) interpreted++;
  }
  await new Promise((r) => setTimeout(r, 1000));
  const where = { lxcPath: fleet.lxcPath, hostRoot: fleet.hostRoot, driver: fleet.driver };
  const pkgs = { packages: ["busybox", "libc6", "libpython3.11-stdlib", "perl-modules-5.36"] };
  const cases: { label: string; opts: HostScanOptions; ms: number[] }[] = [
    { label: "every check, every file", opts: {}, ms: [] },
    { label: "maps only, every file", opts: { checks: MAPS_ONLY }, ms: [] },
    { label: "every check, 4 packages", opts: pkgs, ms: [] },
    { label: "maps only, 4 packages", opts: { ...pkgs, checks: MAPS_ONLY }, ms: [] },
  ];
  let verdicts = "";
  for (let r = 0; r < Number(values.runs); r++) {
    for (const c of cases) {
      const t0 = performance.now();
      const found = await scanHost(where, c.opts);
      c.ms.push(performance.now() - t0);
      if (c === cases[0]) {
        const counts = new Map<string, number>();
        for (const f of found) counts.set(f.scan.verdict, (counts.get(f.scan.verdict) ?? 0) + 1);
        verdicts = [...counts].map(([v, n]) => `${n} ${v}`).join(", ");
      }
    }
  }
  const med = (c: (typeof cases)[number]) => percentile(c.ms, 50);
  console.log(`${N} running containers, ${interpreted} with an interpreted service (${verdicts}); median of ${values.runs}:`);
  console.log(`  every file:  every check ${med(cases[0]!).toFixed(0)} ms | maps only ${med(cases[1]!).toFixed(0)} ms`);
  console.log(`  4 packages:  every check ${med(cases[2]!).toFixed(0)} ms | maps only ${med(cases[3]!).toFixed(0)} ms`);
  for (const c of cases) console.log(benchRow("scan", `${N} running containers, ${c.label} (median)`, med(c), "ms", "< 2000"));
} finally {
  await fleet.destroy();
}
