import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import type { Redis } from "ioredis";
import { connectRedis } from "../../src/queue/connection.js";
import { spawnRedis, type TestRedis } from "../helpers/redis-server.js";
import { type HarnessContainer, rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";

const BIN = new URL("../../bin/patchroll", import.meta.url).pathname;

/** One host of a test fleet: its own LXC path, containers, state/spool/journal dirs and host id. */
export interface FleetHost {
  h: RolloutHarness;
  configFile: string;
  /** The daemon process (the built binary), while it runs. */
  daemon: { kill(signal: NodeJS.Signals): boolean; then: PromiseLike<{ all?: unknown }>["then"] } | undefined;
  /** Starts the built daemon on this host's configuration. */
  start(): void;
  /** SIGTERM (a clean stop), or SIGKILL (the host dies without a word); resolves with what the daemon printed. */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<string>;
  /** The built CLI as an operator on this host runs it. */
  cli(...args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

export interface FleetBed {
  redis: TestRedis;
  /** A client on the shared Redis. */
  client: Redis;
  prefix: string;
  hosts: FleetHost[];
  cleanup(): Promise<void>;
}

/**
 * A fleet on this machine: one real redis-server of its own, shared by `specs.length` hosts, each a
 * rollout harness (test bed, containers) with fleet mode on and a key prefix no other test uses.
 */
export async function fleetBed(
  label: string,
  specs: readonly (readonly HarnessContainer[])[],
  flags: (i: number, redis: { url: string; prefix: string }) => Record<string, unknown> | Promise<Record<string, unknown>> = () => ({}),
): Promise<FleetBed> {
  const redis = await spawnRedis();
  const prefix = `pf-${randomBytes(3).toString("hex")}`;
  const hosts: FleetHost[] = [];
  const bed: FleetBed = {
    redis,
    client: undefined as unknown as Redis,
    prefix,
    hosts,
    async cleanup() {
      for (const host of hosts) await host.stop("SIGTERM").catch(() => "");
      for (const host of hosts) await host.h.cleanup().catch((err: unknown) => process.stderr.write(`fleet bed cleanup: ${(err as Error).message}\n`));
      bed.client?.disconnect();
      await redis.stop();
    },
  };
  try {
    for (const [i, spec] of specs.entries()) {
      const { fleet, ...rest } = (await flags(i, { url: redis.url, prefix })) as { fleet?: Record<string, unknown> };
      // Host ids that sort in creation order: the waves are cut by id (the fleet has its own Redis).
      const h = await rolloutHarness(`${label}${i}`, spec, { hostId: `${label}-${i}`, redis: { url: redis.url, prefix }, fleet: { enabled: true, heartbeatMs: 200, lostAfterMs: 1500, summaryEveryMs: 200, pollMs: 100, ...fleet }, ...rest });
      const configFile = join(h.env.root, "config.json");
      // JSON is YAML: the daemon and the CLI read exactly the harness' configuration.
      writeFileSync(configFile, JSON.stringify({ ...h.env.config, log: { level: "warn" }, queue: { lockDurationMs: 2000, stalledIntervalMs: 1000, maxStalledCount: 100 } }));
      const host: FleetHost = {
        h,
        daemon: undefined,
        configFile,
        start() {
          host.daemon = execa(BIN, ["-c", configFile, "daemon"], { reject: false, all: true, env: { PATCHROLL_CONFIG: "" }, cleanup: true, forceKillAfterDelay: 10_000 });
        },
        async stop(signal = "SIGTERM") {
          const d = host.daemon;
          host.daemon = undefined;
          if (d === undefined) return "";
          d.kill(signal);
          return String((await d).all ?? "");
        },
        async cli(...args) {
          const r = await execa(BIN, ["-c", configFile, ...args], { reject: false, env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", SUDO_USER: "oncall-test", PATCHROLL_CONFIG: "" }, extendEnv: false, timeout: 60_000 });
          return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
        },
      };
      hosts.push(host);
    }
    bed.client = await connectRedis(hosts[0]!.h.env.config, "client");
  } catch (err) {
    await bed.cleanup();
    throw err;
  }
  return bed;
}

/** Polls `fn` until it returns something other than undefined, or throws with `what` after `timeoutMs`. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await fn();
    if (r !== undefined) return r;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}
