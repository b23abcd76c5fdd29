import { hostname } from "node:os";
import { z } from "zod";
import { BatchSize } from "./batch-size.js";
import { FleetSchema } from "../fleet/fleet-schema.js";

export { BatchSize } from "./batch-size.js";

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
  z.strictObject({
    type: z.literal("process"),
    /** The process name (as in /proc/PID/comm, at most 15 characters) that must be running in the container. */
    comm: z.string().min(1).max(15),
  }),
]);
export type HealthCheck = z.infer<typeof HealthCheck>;

const hostIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The whole configuration of patchroll: one file, `PATCHROLL_*` overrides and flags, in that order. */
export const ConfigSchema = z.strictObject({
  hostId: z.string().regex(hostIdPattern, "letters, digits, '.', '_' or '-'").default(() => safeHostname()).describe("Names this host in every Redis key, queue and journal. Default: the machine's hostname."),
  stateDir: z.string().startsWith("/").default("/var/lib/patchroll").describe("Where patchroll keeps its state: embedded Redis, snapshots, captures, checkpoints."),
  spoolDir: z.string().startsWith("/").default("/var/spool/patchroll").describe("Where the apt hooks drop their records. Must be on a local filesystem."),
  journalDir: z.string().startsWith("/").default("/var/log/patchroll").describe("Append-only journal of every decision and step; reports are built from it alone."),
  intake: z.strictObject({
    dpkgLog: z.string().startsWith("/").default("/var/log/dpkg.log").describe("dpkg's log (and its rotated files `.1`, `.2.gz`, ...), read from the last checkpoint at start and every `reconcileIntervalSec`: a change no apt hook reported (patchroll stopped, hook missing, spool unwritable, `dpkg -i` by hand) becomes an event of its own."),
    uuLogDir: z.string().startsWith("/").default("/var/log/unattended-upgrades").describe("Where unattended-upgrades writes `unattended-upgrades.log` and `unattended-upgrades-dpkg.log`; followed through rotation. Each run's verdict, origins and packages join the event of its apt run."),
    reconcileIntervalSec: z.number().int().min(0).max(86_400).default(300).describe("Seconds between two dpkg.log reconciliations; 0: only at start."),
    reconcileSettleSec: z.number().int().min(0).max(3600).default(60).describe("A dpkg.log change younger than this is left for the next reconciliation: its apt run may still go on, and the hook's account of it be on its way."),
    uuSettleMs: z.number().int().min(0).max(600_000).default(5000).describe("Quiet time after unattended-upgrades logged its verdict before the run is taken as over (it logs kept-back packages after the verdict)."),
    matchSlackSec: z.number().int().min(1).max(600).default(5).describe("Slack when matching the hook's, unattended-upgrades' and dpkg.log's accounts of one apt run by time (dpkg.log has whole seconds)."),
    aptExitPollMs: z.number().int().min(1).max(10_000).default(10).describe("Longest pause between two looks whether the apt process of a run whose dpkg has finished is gone (the first look after 1 ms, then ever less often), for up to 2 s; after that, and while dpkg still runs, every 250 ms. The event and its rollout follow its exit at once."),
  }).prefault({}).describe("How package changes are noticed: the apt hooks' spool (`spoolDir`), the unattended-upgrades log, dpkg.log reconciliation."),
  log: z.strictObject({
    level: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info").describe("Least severe level written."),
  }).prefault({}).describe("Logging: pino JSON lines on stdout (journald keeps them)."),
  redis: z.strictObject({
    url: z.string().regex(/^rediss?:\/\//, "a redis:// or rediss:// URL").optional().describe("A shared Redis (`redis://` or `rediss://`). Unset: the daemon runs its own redis-server."),
    sentinel: z.strictObject({
      name: z.string().min(1).describe("The master group name."),
      sentinels: z.array(z.string().regex(/^[^:]+:\d+$/, "host:port")).min(1).describe("The sentinels, as `host:port`."),
      password: z.string().optional().describe("Password of the sentinels. Redacted in every output."),
    }).optional().describe("Redis Sentinel instead of `url`: the master group name and the sentinels."),
    cluster: z.strictObject({
      nodes: z.array(z.string().regex(/^[^:]+:\d+$/, "host:port")).min(1).describe("Some nodes of the cluster, as `host:port`; the others are learned from them."),
    }).optional().describe("Redis Cluster instead of `url`: every key of a host is in one slot through the `{prefix:HOST}` hash tag."),
    tls: z.strictObject({
      caFile: z.string().startsWith("/").optional().describe("PEM file of the CA that signed the servers' certificates. Default: the system's CAs."),
      certFile: z.string().startsWith("/").optional().describe("PEM client certificate, for servers that ask for one (`tls-auth-clients yes`)."),
      keyFile: z.string().startsWith("/").optional().describe("PEM key of the client certificate. Must not be readable by other users: containers see the host root."),
      servername: z.string().min(1).optional().describe("Name the servers' certificates are checked against, when it is not the host connected to (e.g. a certificate for a DNS name, reached by IP)."),
    }).optional().describe("TLS to Redis, to the sentinels and to every cluster node. With `url`, use `rediss://`."),
    username: z.string().min(1).optional().describe("ACL user for the sentinel's or the cluster's data nodes (with `url`, put it in the URL)."),
    password: z.string().optional().describe("Password for `url` when it does not carry one, and for the data nodes of `sentinel` and `cluster`. Redacted in every output."),
    prefix: z.string().regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' or '-'").default("patchroll").describe("First part of every key; the host id follows, both inside one hash tag: `{patchroll:HOST}`."),
    serverBinary: z.string().default("redis-server").describe("The embedded redis-server binary, used when none of `url`, `sentinel` and `cluster` is set."),
  }).prefault({}).describe("Where queues and live state live. Unset: the daemon runs its own redis-server on a unix socket under `stateDir`."),
  lxc: z.strictObject({
    path: z.string().startsWith("/").default("/var/lib/lxc").describe("LXC's container directory (`lxc-* -P`)."),
    hostRoot: z.string().startsWith("/").default("/var/lib/lxc/host/rootfs").describe("Where the host root is bind-mounted to serve as every container's lower layer."),
    stopTimeoutSec: z.number().int().min(1).max(600).default(10).describe("Seconds `lxc-stop` waits for a clean stop before it kills."),
  }).prefault({}).describe("The LXC containers patchroll manages."),
  rollout: z.strictObject({
    batches: z.array(BatchSize).min(1).default([1, "100%"]).describe("Batch sizes, first to last; the last repeats until every container is done."),
    select: z.enum(["stale", "all"]).default("stale").describe("Which containers a package change restarts: those running its old files, or every managed one."),
    healthyAfter: z.number().int().min(1).max(100).default(2).describe("Health checks in a row that must pass before a container counts as healthy."),
    unhealthyAfter: z.number().int().min(1).max(100).default(3).describe("Health checks in a row that must fail before a container counts as unhealthy."),
    healthIntervalMs: z.number().int().min(10).max(600_000).default(200).describe("Pause between two health checks of one container once its service has answered (before that: 2 ms, doubling up to this)."),
    healthTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000).describe("Give up on a container that is not healthy this long after its start."),
    bakeMs: z.number().int().min(0).max(86_400_000).default(0).describe("Time a batch must stay healthy before the next one starts."),
    maxParallel: z.number().int().min(1).max(1000).default(4).describe("Containers of one batch restarted at the same time."),
    maxFailures: z.union([z.number().int().min(0), z.string().regex(/^([0-9]|[1-9][0-9]|100)%$/, "a percentage such as \"10%\"")]).default(0).describe("Failed containers tolerated before the rollout halts: a count, or a percentage of the plan (rounded down), as Ansible's max_fail_percentage. Default 0: the first failure halts."),
    ignorePackages: z.array(z.string().min(1)).default([]).describe("Package names or globs (`*`, `?`) whose changes never restart a container, e.g. `linux-image-*`; patchroll itself is always ignored."),
    approveAfter: z.array(z.number().int().min(1)).default([]).describe("Batches after which a human must approve (patchroll rollouts approve ID) before the next batch starts, e.g. [1] to gate everything after the canary."),
    windows: z.array(z.string().min(1)).default([]).describe("Maintenance windows as cron expressions (minute hour day month weekday, local time): a batch starts only in a minute one of them matches; outside, the rollout waits and says so. Empty: any time."),
    groups: z.record(z.string(), z.strictObject({
      healthyAfter: z.number().int().min(1).max(100).optional(),
      unhealthyAfter: z.number().int().min(1).max(100).optional(),
      healthIntervalMs: z.number().int().min(10).max(600_000).optional(),
      healthTimeoutMs: z.number().int().min(100).max(3_600_000).optional(),
    })).default({}).describe("Per service group overrides of the health settings, e.g. { db: { healthTimeoutMs: 120000 } }."),
  }).prefault({}).describe("How a package change becomes restarts: batches, health, failure budget."),
  queue: z.strictObject({
    lockDurationMs: z.number().int().min(1000).max(600_000).default(30_000).describe("How long a worker's claim on a running job lasts without renewal (renewed at half this). A worker killed mid-rollout hands its rollout to the next one after this."),
    stalledIntervalMs: z.number().int().min(500).max(600_000).default(15_000).describe("How often workers look for jobs whose worker died."),
    maxStalledCount: z.number().int().min(1).max(1000).default(100).describe("How many worker deaths a job survives; each time it resumes from its journal."),
    watchdogIdleMs: z.number().int().min(1000).max(3_600_000).default(60_000).describe("A worker that runs no job while jobs of its queue have waited this long (or whose blocking Redis connection has ended for good) is stuck: it is replaced by a new one, with a log line, the metric `patchroll_worker_recreations_total` and a `status` line."),
  }).prefault({}).describe("BullMQ worker settings."),
  notify: z.strictObject({
    webhooks: z.array(z.strictObject({
      url: z.url().describe("Where to POST."),
      format: z.enum(["json", "slack"]).default("json").describe("`json`: patchroll's own body; `slack`: a Slack-compatible `{ text }` body."),
      events: z.array(z.enum(["halted", "rolled-back", "approval-needed", "completed", "aborted"])).default(["halted", "rolled-back", "approval-needed", "completed", "aborted"]).describe("Which rollout events to send."),
    })).default([]).describe("Webhooks told about rollouts. Delivery is retried with backoff from its own queue and never holds a rollout up."),
  }).prefault({}).describe("Notifications."),
  journal: z.strictObject({
    compressAfterDays: z.number().int().min(1).max(36_500).default(14).describe("Journals of finished rollouts whose last entry is older than this many days are gzip-compressed in place (`ROLLOUT.jsonl.gz`); reports, `rollouts show` and `journal verify` read them as before."),
    retainDays: z.number().int().min(1).max(36_500).default(400).describe("Journals of finished rollouts whose last entry is older than this many days are deleted, and their reports with them. The default keeps a year and a month for audits. Unfinished rollouts are never deleted."),
    keepMin: z.number().int().min(0).max(1_000_000).default(50).describe("The newest this many journals are never deleted, however old."),
  }).prefault({}).describe("Retention and rotation of the journals under `journalDir`, applied by `patchroll journal prune`."),
  snapshots: z.strictObject({
    keep: z.number().int().min(1).max(100).default(3).describe("Snapshots kept per container; older ones are pruned after a successful restart."),
  }).prefault({}).describe("Copies of a container's delta taken before each restart."),
  http: z.strictObject({
    enabled: z.boolean().default(true).describe("Serve the dashboard, bull-board and `/metrics` from the daemon. A port that cannot be bound is logged; patching goes on."),
    listen: z.string().min(1).default("127.0.0.1").describe("Address the dashboard listens on. Loopback by default: reach it through an SSH tunnel, or set an address and put TLS in front."),
    port: z.number().int().min(0).max(65535).default(9470).describe("TCP port of the dashboard and `/metrics` (0: any free port, for tests)."),
    tokenFile: z.string().startsWith("/").optional().describe("File holding the token that allows actions (pause, resume, approve, abort, retry); created with mode 0600 when missing. Default: `STATEDIR/http-token`, which containers cannot read."),
  }).prefault({}).describe("The web dashboard: read-only without a token, actions with the token."),
  fleet: FleetSchema,
});

export type Config = Readonly<z.infer<typeof ConfigSchema>>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** Keys whose values never leave the process unredacted. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(["password"]);

function safeHostname(): string {
  const name = hostname().split(".")[0] ?? "host";
  return hostIdPattern.test(name) ? name : "host";
}
