import { type Job, UnrecoverableError } from "bullmq";
import type { z } from "zod";

/**
 * A job's payload, checked against its schema when it is processed (jobs outlive deploys). A payload the
 * schema refuses never gets better with a retry: it fails the job at once (`UnrecoverableError`), saying
 * which job and what is wrong.
 */
export function parseJob<S extends z.ZodType>(schema: S, job: Pick<Job, "id" | "name" | "data">): z.infer<S> {
  const parsed = schema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`${job.name} job ${job.id}: bad payload: ${parsed.error.message}`);
  return parsed.data;
}
