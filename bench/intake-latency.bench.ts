/**
 * Latency from the end of a dpkg run to its rollout job existing in Redis: real apt-get runs through
 * patchroll's hooks (a hermetic apt against a local repository, src/demo/hermetic-apt.ts), the daemon
 * in-process with its own embedded redis-server. Per run: the post-invoke hook's record time (written as
 * dpkg finished; its file's mtime) to the rollout job's creation time (BullMQ's `timestamp`, set by the
 * daemon, same clock). The path measured: hook record -> fs.watch -> spool ingest -> Redis ->
 * finish-run job (promoted by the post-invoke record, then polling for the apt process to exit every
 * `intake.aptExitPollMs`) -> event -> rollout job. Prints numbers, asserts nothing.
 * Run as root: `npm run bench -- intake-latency` or `node dist/bench/intake-latency.bench.js [--runs 60]`.
 * Installs and purges a throwaway package; dpkg.log goes to a private file (dpkg --log).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config/load.js";
import { Daemon } from "../src/daemon/daemon.js";
import { HermeticApt } from "../src/demo/hermetic-apt.js";
import { buildDemoPackage, LocalRepo } from "../src/demo/package-fixture.js";
import { EventStore } from "../src/intake/event-store.js";
import { silentLogger } from "../src/log/logger.js";
import { connectRedis } from "../src/queue/connection.js";
import { openQueues, closeQueues } from "../src/queue/queues.js";
import { benchRow, percentile } from "./report.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "60" }, dir: { type: "string", default: "/var/tmp" } } });
const runs = Math.max(2, Number(values.runs));
const work = await mkdtemp(join(values.dir, "patchroll-bench-intake-"));
const pkg = `prlat${process.pid}`;
const dpkgLog = join(work, "dpkg.log");
let daemon: Daemon | undefined;
let apt: HermeticApt | undefined;

try {
  const repo = new LocalRepo(join(work, "repo"), { origin: "prbench", label: "prbench-security", suite: "prbench-security", codename: "prbench" });
  for (const version of ["1.0", "1.1"]) await repo.add(await buildDemoPackage({ dir: join(work, "debs"), name: pkg, version }));
  await repo.publish();
  const { config } = loadConfig({
    env: {},
    flags: {
      hostId: `bench-${process.pid}`,
      stateDir: join(work, "state"),
      spoolDir: join(work, "spool"),
      journalDir: join(work, "journal"),
      lxc: { path: join(work, "lxc") },
      http: { enabled: false },
      intake: { dpkgLog, uuLogDir: join(work, "apt", "uu-log"), reconcileIntervalSec: 0 },
    },
  });
  await mkdir(config.lxc.path, { recursive: true });
  apt = new HermeticApt({ root: join(work, "apt"), repo, hooks: { spoolDir: config.spoolDir } });
  await writeFile(join(apt.root, "parts", "40dpkg-log"), `Dpkg::Options:: "--log=${dpkgLog}";\n`);
  await writeFile(join(apt.root, "parts-plain", "40dpkg-log"), `Dpkg::Options:: "--log=${dpkgLog}";\n`);
  await apt.update();

  daemon = new Daemon(config, silentLogger());
  await daemon.start();
  const redis = await connectRedis(config, "client");
  const events = new EventStore(redis, config);
  const queues = openQueues(redis, config);
  const latencies: number[] = [];
  const seen = new Set<string>();
  try {
    for (let i = 0; i < runs; i++) {
      const version = i % 2 === 0 ? "1.0" : "1.1"; // install, then down- and upgrades: each a rollout from the second on
      const r = await apt.install([`${pkg}=${version}`]);
      if (r.exitCode !== 0) throw new Error(`apt-get install ${pkg}=${version} failed (${r.exitCode}): ${r.stderr}`);
      if (i === 0) continue;
      const deadline = Date.now() + 30_000;
      for (;;) {
        const jobs = await queues.rollouts.getJobs(["active", "waiting", "delayed", "completed", "failed", "prioritized"]);
        const job = jobs.find((j) => j.id !== undefined && !seen.has(j.id));
        if (job !== undefined) {
          seen.add(job.id!);
          const eventId = (job.data as { eventId: string }).eventId;
          const records = await events.records(eventId.replace(/^apt-/, ""));
          const dpkgEnd = Math.max(...records.filter((x) => x.kind === "post-invoke").map((x) => Date.parse(x.time)));
          latencies.push(job.timestamp - dpkgEnd);
          break;
        }
        if (Date.now() > deadline) throw new Error(`no rollout job 30 s after apt-get run ${i}`);
        await new Promise((res) => setTimeout(res, 5));
      }
    }
  } finally {
    await closeQueues(queues);
    redis.disconnect();
  }
  const med = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  process.stdout.write(
    `dpkg end (post-invoke hook) -> rollout job in Redis, ${latencies.length} apt-get runs: median ${med.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms (aptExitPollMs ${config.intake.aptExitPollMs})\n`,
  );
  process.stdout.write(`${benchRow("intake-latency", "dpkg end -> rollout job (median)", med, "ms")}\n`);
  process.stdout.write(`${benchRow("intake-latency", "dpkg end -> rollout job (p99)", p99, "ms", "< 200")}\n`);
} finally {
  await daemon?.stop(5000).catch(() => undefined);
  await apt?.cleanup().catch(() => undefined);
  await rm(work, { recursive: true, force: true });
}
