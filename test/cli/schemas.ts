import { z } from "zod";

/** The `--json` shapes of docs/cli.md, as the tests hold the CLI to them (strict: no field unlisted). */
const Counts = z.strictObject({ waiting: z.number(), active: z.number(), delayed: z.number(), prioritized: z.number(), "waiting-children": z.number(), failed: z.number(), completed: z.number() });
export const QueueCountsJson = z.strictObject({ queue: z.string(), paused: z.boolean(), counts: Counts, stalled: z.number(), workers: z.number() });
export const QueuesJson = z.strictObject({ queues: z.array(QueueCountsJson) });

export const JobJson = z.strictObject({
  queue: z.string(),
  id: z.string(),
  name: z.string(),
  state: z.string(),
  data: z.unknown(),
  progress: z.unknown(),
  attemptsMade: z.number(),
  createdAt: z.iso.datetime(),
  processedAt: z.iso.datetime().optional(),
  finishedAt: z.iso.datetime().optional(),
  failedReason: z.string().optional(),
});
export const JobsJson = z.strictObject({ jobs: z.array(JobJson) });
export const JobShowJson = z.strictObject({ job: JobJson.extend({ stacktrace: z.array(z.string()), returnvalue: z.unknown(), logs: z.array(z.string()) }) });

const Rollout = z.object({ id: z.string(), eventId: z.string(), createdAt: z.string(), updatedAt: z.string(), status: z.string(), packages: z.array(z.string()) }).loose();
const Pin = z.object({ container: z.string(), rollout: z.string(), packages: z.array(z.object({ name: z.string(), version: z.string(), arch: z.string() })) }).loose();
export const StatusJson = z.strictObject({
  v: z.literal(1),
  host: z.string(),
  at: z.iso.datetime(),
  daemon: z.strictObject({ up: z.boolean().nullable(), workers: z.number().nullable(), http: z.strictObject({ url: z.string(), up: z.boolean() }).nullable() }),
  redis: z.strictObject({
    where: z.string(),
    reachable: z.boolean(),
    error: z.string().optional(),
    health: z.object({ persistence: z.object({ aof: z.boolean() }).loose(), maxmemoryPolicy: z.string(), usedMemory: z.number(), version: z.string() }).optional(),
    maxMemory: z.number().optional(),
    problems: z.array(z.string()),
    away: z.strictObject({ since: z.iso.datetime(), held: z.array(z.strictObject({ id: z.string(), done: z.number(), total: z.number(), inFlight: z.array(z.string()) })) }).optional(),
    recreations: z.array(z.strictObject({ queue: z.string(), at: z.iso.datetime(), reason: z.string(), count: z.number() })).optional(),
  }),
  queues: z.array(QueueCountsJson).nullable(),
  active: z.array(Rollout).nullable(),
  halted: z.array(Rollout).nullable(),
  pins: z.array(Pin),
  containers: z.strictObject({ total: z.number(), managed: z.number(), byVerdict: z.record(z.string(), z.number()), stale: z.array(z.string()), shadowed: z.array(z.string()), ownDpkg: z.array(z.string()), packages: z.array(z.string()), error: z.string().optional() }),
  spool: z.strictObject({ dir: z.string(), records: z.number(), oldestAt: z.string().optional(), oldestAgeSec: z.number().optional(), corrupt: z.number(), error: z.string().optional() }),
  exposure: z.strictObject({ container: z.string(), since: z.iso.datetime(), ageSec: z.number(), path: z.string(), package: z.string().optional() }).nullable(),
  attention: z.array(z.strictObject({ severity: z.enum(["critical", "warning"]), what: z.string(), next: z.string(), runbook: z.string(), runbookFile: z.string() })),
});

export const ControlJson = z.strictObject({
  rolloutId: z.string(),
  action: z.enum(["pause", "resume", "abort", "approve", "retry"]),
  controls: z.strictObject({ paused: z.object({ who: z.string(), why: z.string() }).loose().optional(), aborted: z.object({ who: z.string(), why: z.string() }).loose().optional(), approved: z.array(z.number()) }),
  batch: z.number().optional(),
  requeued: z.number().optional(),
});

const Finding = z.strictObject({ severity: z.enum(["error", "warning"]), problem: z.string(), fix: z.string(), runbook: z.string().optional() });
export const DoctorJson = z.strictObject({ checks: z.array(z.strictObject({ id: z.string(), title: z.string(), skipped: z.string().optional(), findings: z.array(Finding) })) });
