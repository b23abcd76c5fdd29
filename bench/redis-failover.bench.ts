/**
 * Rollouts on a shared Redis when its master dies, run as root:
 *   npm run bench -- redis-failover        (or: node dist/bench/redis-failover.bench.js [--containers 8])
 * For the embedded Redis, Sentinel (master, replica, three sentinels) and Cluster (three masters, three
 * replicas), all on loopback in the same run: a clean rollout of the same real containers (one at a time,
 * so Redis is asked between every two), whose wall time per container gives the overhead against the
 * embedded Redis. For Sentinel and Cluster then a rollout whose master is killed with SIGKILL before the
 * third container stops: the time from the kill to the first step of the next container (the one in
 * flight needs no Redis), and restarts lost (a container not patched) or repeated (stopped twice).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config/load.js";
import { Daemon } from "../src/daemon/daemon.js";
import type { JournalEntry } from "../src/journal/entry.js";
import { readJournal } from "../src/journal/journal.js";
import { journalFile } from "../src/journal/paths.js";
import { silentLogger } from "../src/log/logger.js";
import { connectRedis } from "../src/queue/connection.js";
import { closeQueues, openQueues } from "../src/queue/queues.js";
import { startManualRollout } from "../src/rollout/manual-rollout.js";
import { RolloutStore } from "../src/rollout/rollout-store.js";
import { type Fleet, startFleet } from "./lxc-fleet.js";
import { redisCommand, startCluster, startSentinelGroup } from "./redis-topology.js";
import { benchRow } from "./report.js";

const { values } = parseArgs({ options: { containers: { type: "string", default: "8" } } });
const N = Number(values.containers);
const PASSWORD = "bench-only-password";

interface Outcome {
  /** Wall time of the rollout per container, from its plan to its end. */
  perContainerMs: number;
  /** Kill of the master to the first step of the next container; undefined without a kill or a resume. */
  resumeMs?: number;
  lost: number;
  repeated: number;
}

/** Runs one rollout of every container of `fleet` on `redis` config; `kill` (if any) before the third stop. */
async function rollout(fleet: Fleet, root: string, label: string, redis: Record<string, unknown>, kill?: () => void): Promise<Outcome | "no-resume"> {
  const dir = mkdtempSync(join(root, `${label}-`));
  const { config } = loadConfig({
    env: {},
    flags: {
      hostId: `bench-${label}`, stateDir: join(dir, "state"), spoolDir: join(dir, "spool"), journalDir: join(dir, "journal"),
      redis, http: { enabled: false },
      intake: { dpkgLog: join(dir, "dpkg.log"), uuLogDir: join(dir, "uu") },
      lxc: { path: fleet.lxcPath, hostRoot: fleet.hostRoot, stopTimeoutSec: 10 },
      rollout: { select: "all", batches: [1, "100%"], maxParallel: 1, bakeMs: 0, healthyAfter: 1, healthIntervalMs: 10 },
      queue: { lockDurationMs: 5000, stalledIntervalMs: 2000, watchdogIdleMs: 5000 },
    },
  });
  let stops = 0;
  let killedAt: number | undefined;
  const daemon = new Daemon(config, silentLogger(), {
    driver: fleet.driver,
    checkpoint: (_c, step) => {
      if (kill !== undefined && step === "stop" && ++stops === 3) {
        killedAt = Date.now();
        kill();
      }
    },
  });
  await daemon.start();
  const client = await connectRedis(config, "worker");
  const queues = openQueues(client, config);
  try {
    const { rolloutId } = await startManualRollout(client, queues, config, ["busybox"]);
    const store = new RolloutStore(client, config);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const status = await Promise.race([store.get(rolloutId).then((s) => s?.status), new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000))]);
      if (status === "completed" || status === "halted" || status === "aborted") break;
      if (Date.now() > deadline) return "no-resume";
      await new Promise((r) => setTimeout(r, 20));
    }
    return measure(readJournal(journalFile(config, rolloutId)).entries, fleet, killedAt);
  } finally {
    await Promise.race([closeQueues(queues), new Promise((r) => setTimeout(r, 3000))]);
    client.disconnect();
    await daemon.stop(3000);
  }
}

/** The figures of one rollout, from its journal alone. */
function measure(entries: readonly JournalEntry[], fleet: Fleet, killedAt: number | undefined): Outcome {
  const planned = Date.parse(entries.find((e) => e.type === "rollout.planned")!.ts);
  const ended = Date.parse(entries.at(-1)!.ts);
  const stops = (name: string) => entries.filter((e) => e.type === "step.begin" && e.container === name && e.data["step"] === "stop").length;
  const patched = new Set(entries.filter((e) => e.type === "container.done" && e.data["outcome"] === "patched").map((e) => e.container));
  let resumeMs: number | undefined;
  if (killedAt !== undefined) {
    const inFlight = entries.find((e) => e.type === "step.begin" && Date.parse(e.ts) >= killedAt)?.container;
    const next = entries.find((e) => e.type === "step.begin" && e.container !== inFlight && Date.parse(e.ts) >= killedAt);
    if (next !== undefined) resumeMs = Date.parse(next.ts) - killedAt;
  }
  return {
    perContainerMs: (ended - planned) / fleet.containers.length,
    ...(resumeMs !== undefined ? { resumeMs } : {}),
    lost: fleet.containers.filter((c) => !patched.has(c.name)).length,
    repeated: fleet.containers.reduce((n, c) => n + Math.max(0, stops(c.name) - 1), 0),
  };
}

const root = mkdtempSync(join("/var/tmp", "patchroll-bench-failover-"));
const fleet = await startFleet("fail", N);
try {
  // The first rollout of a fleet also makes each container's first snapshot: a warm-up, not measured.
  await rollout(fleet, root, "warm-up", {});
  const embedded = await rollout(fleet, root, "embedded", {});
  if (embedded === "no-resume") throw new Error("the rollout on the embedded Redis did not finish");
  console.log(`embedded Redis: ${embedded.perContainerMs.toFixed(1)} ms per container`);

  const group = await startSentinelGroup({ password: PASSWORD });
  try {
    const sentinel = { sentinel: { name: group.name, sentinels: group.sentinels }, password: PASSWORD };
    const clean = await rollout(fleet, root, "sentinel", sentinel);
    const failed = await rollout(fleet, root, "sentinel-kill", sentinel, () => group.master.kill("SIGKILL"));
    report("Sentinel", embedded.perContainerMs, clean, failed);
  } finally {
    await group.stop();
  }

  const cluster = await startCluster({ adminPassword: PASSWORD, user: { name: "patchroll", password: PASSWORD } });
  try {
    const redis = { cluster: { nodes: cluster.nodes }, username: "patchroll", password: PASSWORD };
    const clean = await rollout(fleet, root, "cluster", redis);
    // The killed rollout's host is "bench-cluster-kill" (see rollout()): the master of its hash tag's slot dies.
    const slot = Number(await redisCommand({ port: cluster.procs[0]!.port, password: PASSWORD }, "CLUSTER", "KEYSLOT", "{patchroll:bench-cluster-kill}"));
    const master = await cluster.masterOf(slot);
    const failed = await rollout(fleet, root, "cluster-kill", redis, () => master.proc.kill("SIGKILL"));
    report("Cluster", embedded.perContainerMs, clean, failed);
  } finally {
    await cluster.stop();
  }
} finally {
  await fleet.destroy();
  rmSync(root, { recursive: true, force: true });
}

function report(what: string, embeddedMs: number, clean: Outcome | "no-resume", failed: Outcome | "no-resume"): void {
  if (clean !== "no-resume") {
    console.log(`${what}: ${clean.perContainerMs.toFixed(1)} ms per container`);
    console.log(benchRow("redis-failover", `${what}: rollout time per container against the embedded Redis (${N} containers)`, (100 * clean.perContainerMs) / embeddedMs - 100, "% more", "<= 20"));
  }
  if (failed === "no-resume") {
    console.log(`${what}: the rollout with the master killed did not finish within 90 s`);
    console.log(benchRow("redis-failover", `${what}: master killed mid-rollout, rollout finished`, 0, "(no: see log)", "yes"));
    return;
  }
  console.log(benchRow("redis-failover", `${what}: master SIGKILL to the first step of the next container`, failed.resumeMs ?? Number.NaN, "ms"));
  console.log(benchRow("redis-failover", `${what}: restarts lost / repeated`, failed.lost + failed.repeated, `(${failed.lost} lost, ${failed.repeated} repeated)`, "0"));
}
