import type { Job } from "bullmq";
import { UnrecoverableError } from "bullmq";
import { type NotifyJob as NotifyPayload, NotifyJob } from "../src/queue/jobs/notify.js";
import { parseJob } from "../src/queue/jobs/parse-job.js";

/** The body a webhook receives. */
export function webhookBody(job: NotifyPayload): unknown {
  const { notice, host } = job;
  const text = `[patchroll ${host}] ${notice.text}`;
  return job.format === "slack" ? { text } : { v: 1, host, ...notice, text };
}

/** The `notifications` job: one webhook delivery; a 5xx or 429 is retried with backoff, another 4xx is not. */
export async function handleNotify(job: Job): Promise<{ status: number }> {
  const data = parseJob(NotifyJob, job);
  const res = await fetch(data.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(webhookBody(data)),
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status >= 500 || res.status === 429) throw new Error(`webhook ${data.url} answered ${res.status}; retrying`);
  if (res.status >= 400) throw new UnrecoverableError(`webhook ${data.url} answered ${res.status}; not retrying (fix the URL or its auth)`);
  return { status: res.status };
}
