import { hostname } from "node:os";
import { z } from "zod";

/** A batch size: a count (`1`, `5`) or a share of the remaining plan (`"10%"`), as Ansible's `serial`. */
export const BatchSize = z.union([
  z.number().int().positive(),
  z.string().regex(/^([1-9][0-9]?|100)%$/, "a percentage such as \"10%\""),
]);

/** One health check of a container. Results are recorded with their evidence. */
export const HealthCheck = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("http"),
    url: z.url(),
    expectStatus: z.number().int().min(100).max(599).default(200),
    bodyMatch: z.string().optional(),
    timeoutMs: z.number().int().positive().default(2000),
  }),
  z.strictObject({
    type: z.literal("tcp"),
    host: z.string().default("127.0.0.1"),
    port: z.number().int().min(1).max(65535),
    timeoutMs: z.number().int().positive().default(2000),
  }),
  z.strictObject({
    type: z.literal("command"),
    argv: z.array(z.string()).min(1),
    timeoutMs: z.number().int().positive().default(5000),
  }),
]);
export type HealthCheck = z.infer<typeof HealthCheck>;

const hostIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The whole configuration of patchroll: one file, `PATCHROLL_*` overrides and flags, in that order. */
export const ConfigSchema = z.strictObject({
  /** Names this host in every Redis key, queue and journal. Default: the machine's hostname. */
  hostId: z.string().regex(hostIdPattern, "letters, digits, '.', '_' or '-'").default(() => safeHostname()),
  /** Where patchroll keeps its state: embedded Redis, snapshots, captures, checkpoints. */
  stateDir: z.string().startsWith("/").default("/var/lib/patchroll"),
  /** Where the apt hooks drop their records. Must be on a local filesystem. */
  spoolDir: z.string().startsWith("/").default("/var/spool/patchroll"),
  /** Append-only journal of every decision and step; reports are built from it alone. */
  journalDir: z.string().startsWith("/").default("/var/log/patchroll"),
  log: z.strictObject({
    level: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"),
  }).prefault({}),
  redis: z.strictObject({
    /** A shared Redis (`redis://` or `rediss://`). Unset: the daemon runs its own redis-server. */
    url: z.string().regex(/^rediss?:\/\//, "a redis:// or rediss:// URL").optional(),
    /** Redis Sentinel: the master group name and the sentinels (`host:port`). */
    sentinel: z.strictObject({
      name: z.string().min(1),
      sentinels: z.array(z.string().regex(/^[^:]+:\d+$/, "host:port")).min(1),
      password: z.string().optional(),
    }).optional(),
    /** Password for `url` when it does not carry one. Redacted in every output. */
    password: z.string().optional(),
    /** First part of every key; the host id follows, both inside one hash tag: `{patchroll:HOST}`. */
    prefix: z.string().regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' or '-'").default("patchroll"),
    /** The embedded redis-server binary, used when neither `url` nor `sentinel` is set. */
    serverBinary: z.string().default("redis-server"),
  }).prefault({}),
  lxc: z.strictObject({
    /** LXC's container directory (`lxc-* -P`). */
    path: z.string().startsWith("/").default("/var/lib/lxc"),
    /** Where the host root is bind-mounted to serve as every container's lower layer. */
    hostRoot: z.string().startsWith("/").default("/var/lib/lxc/host/rootfs"),
    /** Seconds `lxc-stop` waits for a clean stop before it kills. */
    stopTimeoutSec: z.number().int().min(1).max(600).default(10),
  }).prefault({}),
  rollout: z.strictObject({
    /** Batch sizes, first to last; the last repeats until every container is done. */
    batches: z.array(BatchSize).min(1).default([1, "100%"]),
    /** Which containers a package change restarts: those running its old files, or every managed one. */
    select: z.enum(["stale", "all"]).default("stale"),
    /** Health checks in a row that must pass before a container counts as healthy. */
    healthyAfter: z.number().int().min(1).max(100).default(2),
    /** Health checks in a row that must fail before a container counts as unhealthy. */
    unhealthyAfter: z.number().int().min(1).max(100).default(3),
    /** Pause between two health checks of one container. */
    healthIntervalMs: z.number().int().min(10).max(600_000).default(200),
    /** Give up on a container that is not healthy this long after its start. */
    healthTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000),
    /** Time a batch must stay healthy before the next one starts. */
    bakeMs: z.number().int().min(0).max(86_400_000).default(0),
    /** Containers of one batch restarted at the same time. */
    maxParallel: z.number().int().min(1).max(1000).default(4),
    /** Failed containers tolerated before the rollout halts (count). Default 0: the first failure halts. */
    maxFailures: z.number().int().min(0).default(0),
  }).prefault({}),
  snapshots: z.strictObject({
    /** Snapshots kept per container; older ones are pruned after a successful restart. */
    keep: z.number().int().min(1).max(100).default(3),
  }).prefault({}),
});

export type Config = Readonly<z.infer<typeof ConfigSchema>>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** Keys whose values never leave the process unredacted. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(["password"]);

function safeHostname(): string {
  const name = hostname().split(".")[0] ?? "host";
  return hostIdPattern.test(name) ? name : "host";
}
