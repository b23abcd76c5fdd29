import { type Job, UnrecoverableError } from "bullmq";
import { z } from "zod";
import type { Config } from "../src/config/schema.js";
import type { Queues } from "../src/queue/queues.js";
import type { RolloutNotice } from "../src/rollout/notice.js";
import type { WorkerContext } from "./context.js";

/** `notifications` job: one webhook delivery. Retried with backoff; its failure never touches the rollout. */
export const NOTIFY_JOB = "webhook";

export const NotifyJob = z.strictObject({
  v: z.literal(1),
  url: z.url(),
  format: z.enum(["json", "slack"]),
  host: z.string(),
  notice: z.strictObject({
    kind: z.enum(["halted", "rolled-back", "approval-needed", "completed", "aborted"]),
    rollout: z.string(),
    text: z.string(),
    container: z.string().optional(),
    batch: z.number().optional(),
  }),
});
export type NotifyJob = z.infer<typeof NotifyJob>;

/** Queues one delivery per configured webhook that wants this kind of notice. Never throws. */
export async function queueNotice(queues: Queues, config: Config, notice: RolloutNotice, log: WorkerContext["logger"]): Promise<void> {
  for (const hook of config.notify.webhooks) {
    if (!hook.events.includes(notice.kind)) continue;
    const payload: NotifyJob = { v: 1, url: hook.url, format: hook.format, host: config.hostId, notice };
    await queues.notifications
      .add(NOTIFY_JOB, payload, { attempts: 10, backoff: { type: "exponential", delay: 1000 }, removeOnComplete: { age: 86_400 }, removeOnFail: { age: 7 * 86_400 } })
      .catch((err: unknown) => log.warn({ url: hook.url, err: (err as Error).message }, "could not queue a webhook notification"));
  }
}

/** The body a webhook receives. */
export function webhookBody(job: NotifyJob): unknown {
  const { notice, host } = job;
  const text = `[patchroll ${host}] ${notice.text}`;
  return job.format === "slack" ? { text } : { v: 1, host, ...notice, text };
}

export async function handleNotify(job: Job): Promise<{ status: number }> {
  const parsed = NotifyJob.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`notification job ${job.id}: bad payload: ${parsed.error.message}`);
  const res = await fetch(parsed.data.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(webhookBody(parsed.data)),
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status >= 500 || res.status === 429) throw new Error(`webhook ${parsed.data.url} answered ${res.status}; retrying`);
  if (res.status >= 400) throw new UnrecoverableError(`webhook ${parsed.data.url} answered ${res.status}; not retrying (fix the URL or its auth)`);
  return { status: res.status };
}


