import { z } from "zod";
import type { Config } from "../../config/schema.js";
import type { Logger } from "../../log/logger.js";
import type { Queues } from "../queues.js";

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

/**
 * Queues one delivery per configured webhook that wants this kind of notice. No id rule: each delivery is
 * a job of its own. Never throws: a notice that cannot be queued is logged and dropped.
 */
export async function enqueueNotice(queues: Pick<Queues, "notifications">, config: Pick<Config, "notify" | "hostId">, notice: NotifyJob["notice"], log: Logger): Promise<void> {
  for (const hook of config.notify.webhooks) {
    if (!hook.events.includes(notice.kind)) continue;
    const payload = NotifyJob.safeParse({ v: 1, url: hook.url, format: hook.format, host: config.hostId, notice });
    if (!payload.success) {
      log.warn({ url: hook.url, err: payload.error.message }, "webhook notification not queued: bad payload");
      continue;
    }
    await queues.notifications
      .add(NOTIFY_JOB, payload.data, { attempts: 10, backoff: { type: "exponential", delay: 1000 }, removeOnComplete: { age: 86_400 }, removeOnFail: { age: 7 * 86_400 } })
      .catch((err: unknown) => log.warn({ url: hook.url, err: (err as Error).message }, "could not queue a webhook notification"));
  }
}
