import type { Job, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { PatchrollError } from "../errors/patchroll-error.js";
import { QUEUE_NAMES, type QueueName } from "../queue/names.js";
import type { Queues } from "../queue/queues.js";
import { stalledJobIds } from "./queue-counts.js";

/** States `patchroll jobs --state` takes; `stalled` is active without a live worker lock. */
export const JOB_LIST_STATES = ["failed", "stalled", "waiting", "active", "delayed", "prioritized", "waiting-children", "completed"] as const;
export type JobListState = (typeof JOB_LIST_STATES)[number];

/** One job as `patchroll jobs` prints it (`--json`). */
export interface JobInfo {
  queue: QueueName;
  id: string;
  name: string;
  state: string;
  data: unknown;
  progress: unknown;
  attemptsMade: number;
  /** When it was added, ISO 8601. */
  createdAt: string;
  processedAt?: string;
  finishedAt?: string;
  failedReason?: string;
}

/** `jobs show` adds the stack traces and the return value. */
export interface JobDetail extends JobInfo {
  stacktrace: string[];
  returnvalue: unknown;
  logs: string[];
}

const iso = (ms: number | undefined) => (ms === undefined || ms === 0 ? undefined : new Date(ms).toISOString());

function info(queue: QueueName, job: Job, state: string): JobInfo {
  const processedAt = iso(job.processedOn);
  const finishedAt = iso(job.finishedOn);
  return {
    queue,
    id: job.id ?? "",
    name: job.name,
    state,
    data: job.data,
    progress: job.progress,
    attemptsMade: job.attemptsMade,
    createdAt: new Date(job.timestamp).toISOString(),
    ...(processedAt !== undefined ? { processedAt } : {}),
    ...(finishedAt !== undefined ? { finishedAt } : {}),
    ...(job.failedReason ? { failedReason: job.failedReason } : {}),
  };
}

function queuesOf(queues: Queues, only?: QueueName): [QueueName, Queue][] {
  return QUEUE_NAMES.filter((n) => only === undefined || n === only).map((n) => [n, queues[n]]);
}

/** Jobs in `states` (default: every state but completed), newest first per queue, at most `limit` per queue. */
export async function listJobs(client: Redis, queues: Queues, opts: { states?: readonly JobListState[]; queue?: QueueName; limit?: number } = {}): Promise<JobInfo[]> {
  const states = opts.states ?? JOB_LIST_STATES.filter((s) => s !== "completed" && s !== "stalled");
  const limit = opts.limit ?? 50;
  const out: JobInfo[] = [];
  for (const [name, queue] of queuesOf(queues, opts.queue)) {
    const stalled = new Set(await stalledJobIds(client, queue));
    for (const state of states) {
      const jobs =
        state === "stalled"
          ? (await Promise.all([...stalled].slice(0, limit).map((id) => queue.getJob(id)))).filter((j): j is Job => j !== undefined)
          : await queue.getJobs([state], 0, limit - 1);
      for (const job of jobs) {
        if (job === undefined || job === null) continue;
        out.push(info(name, job, state === "active" && stalled.has(job.id ?? "") ? "stalled" : state));
      }
    }
  }
  return out;
}

/** Finds a job by id in one queue or every queue; throws NOT_FOUND. */
export async function findJob(client: Redis, queues: Queues, id: string, only?: QueueName): Promise<{ queue: QueueName; job: Job; state: string }> {
  for (const [name, queue] of queuesOf(queues, only)) {
    const job = await queue.getJob(id);
    if (job === undefined || job === null) continue;
    let state: string = await job.getState();
    if (state === "active" && (await stalledJobIds(client, queue)).includes(id)) state = "stalled";
    return { queue: name, job, state };
  }
  throw new PatchrollError("NOT_FOUND", `no job ${id} in ${only ?? QUEUE_NAMES.join(" or ")}; see patchroll jobs`);
}

/** A job with its stack traces, return value and log lines. */
export async function jobDetail(client: Redis, queues: Queues, id: string, only?: QueueName): Promise<JobDetail> {
  const { queue, job, state } = await findJob(client, queues, id, only);
  const { logs } = await queues[queue].getJobLogs(id, 0, 99);
  return { ...info(queue, job, state), stacktrace: job.stacktrace ?? [], returnvalue: job.returnvalue ?? null, logs };
}

/** Runs a failed (or completed) job again. */
export async function retryJob(client: Redis, queues: Queues, id: string, only?: QueueName): Promise<JobInfo> {
  const { queue, job, state } = await findJob(client, queues, id, only);
  if (state !== "failed" && state !== "completed") {
    throw new PatchrollError("USAGE", `job ${id} in ${queue} is ${state}; only failed or completed jobs can be retried${state === "stalled" ? " (a live worker moves a stalled job back to waiting by itself: is the daemon running?)" : ""}`);
  }
  await job.retry(state);
  return info(queue, job, "waiting");
}

/** Removes a job that no worker holds. */
export async function removeJob(client: Redis, queues: Queues, id: string, only?: QueueName): Promise<JobInfo> {
  const { queue, job, state } = await findJob(client, queues, id, only);
  if (state === "active") throw new PatchrollError("USAGE", `job ${id} in ${queue} is running; a rollout is paused or aborted with patchroll rollouts pause|abort, not removed`);
  try {
    await job.remove();
  } catch (err) {
    throw new PatchrollError("USAGE", `job ${id} in ${queue} could not be removed: ${(err as Error).message}`, { cause: err });
  }
  return info(queue, job, `removed (was ${state})`);
}
