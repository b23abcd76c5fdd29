import { type Command, Option } from "commander";
import { QUEUE_NAMES, type QueueName } from "../../queue/names.js";
// Light at run time (type-only imports of BullMQ): --help stays fast. The actions load the rest.
import { JOB_LIST_STATES, type JobInfo, type JobListState } from "../../status/jobs.js";
import { type CliContext, configFor, wantsJson } from "../context.js";
import { json, table } from "../output.js";

const queueOption = () => new Option("--queue <queue>", "only this queue").choices(QUEUE_NAMES);

function when(j: JobInfo): string {
  return j.finishedAt ?? j.processedAt ?? j.createdAt;
}

function jobLine(j: JobInfo): string[] {
  return [j.queue, j.id, j.name, j.state, String(j.attemptsMade), when(j), (j.failedReason ?? "").split("\n")[0]!.slice(0, 100)];
}

export function registerJobs(program: Command, ctx: CliContext): void {
  const jobs = program.command("jobs").description("BullMQ jobs: list by state, show, retry or remove one");
  const lib = () => Promise.all([import("../../status/with-queues.js"), import("../../status/jobs.js")]);
  jobs
    .command("list", { isDefault: true })
    .description("jobs in the given states (default: every state but completed), newest first")
    .addOption(new Option("--state <state...>", "failed, stalled (active without a live worker), waiting, active, delayed, prioritized, waiting-children, completed").choices(JOB_LIST_STATES))
    .addOption(queueOption())
    .option("-n, --limit <n>", "at most this many per queue and state", "50")
    .action(async (opts: { state?: JobListState[]; queue?: QueueName; limit: string }, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const [{ withQueues }, { listJobs }] = await lib();
      const list = await withQueues(config, (redis, queues) =>
        listJobs(redis, queues, { limit: Number(opts.limit), ...(opts.state !== undefined ? { states: opts.state } : {}), ...(opts.queue !== undefined ? { queue: opts.queue } : {}) }),
      );
      if (wantsJson(cmd)) return ctx.output.out(json({ jobs: list }));
      if (list.length === 0) return ctx.output.out("no jobs in those states");
      ctx.output.out(table(["QUEUE", "ID", "NAME", "STATE", "ATTEMPTS", "WHEN", "FAILED REASON"], list.map(jobLine)));
    });
  jobs
    .command("show <id>")
    .description("one job: payload, progress, failure with stack trace, log lines")
    .addOption(queueOption())
    .action(async (id: string, opts: { queue?: QueueName }, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const [{ withQueues }, { jobDetail }] = await lib();
      const job = await withQueues(config, (redis, queues) => jobDetail(redis, queues, id, opts.queue));
      if (wantsJson(cmd)) return ctx.output.out(json({ job }));
      ctx.output.out(
        [
          `job       ${job.queue}/${job.id} (${job.name})`,
          `state     ${job.state}, ${job.attemptsMade} attempt(s)`,
          `created   ${job.createdAt}${job.processedAt ? `, started ${job.processedAt}` : ""}${job.finishedAt ? `, finished ${job.finishedAt}` : ""}`,
          `data      ${JSON.stringify(job.data)}`,
          `progress  ${JSON.stringify(job.progress)}`,
          ...(job.failedReason ? [`failed    ${job.failedReason}`, ...job.stacktrace.slice(-1).map((s) => s.replace(/^/gm, "          "))] : []),
          ...(job.logs.length > 0 ? ["log", ...job.logs.map((l) => `  ${l}`)] : []),
        ].join("\n"),
      );
    });
  jobs
    .command("retry <id>")
    .description("run a failed (or completed) job again")
    .addOption(queueOption())
    .action(async (id: string, opts: { queue?: QueueName }, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const [{ withQueues }, { retryJob }] = await lib();
      const job = await withQueues(config, (redis, queues) => retryJob(redis, queues, id, opts.queue));
      if (wantsJson(cmd)) return ctx.output.out(json({ retried: job }));
      ctx.output.out(`${job.queue}/${job.id}: back in waiting`);
    });
  jobs
    .command("remove <id>")
    .description("remove a job no worker holds (waiting, delayed, failed, completed, stalled)")
    .addOption(queueOption())
    .action(async (id: string, opts: { queue?: QueueName }, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const [{ withQueues }, { removeJob }] = await lib();
      const job = await withQueues(config, (redis, queues) => removeJob(redis, queues, id, opts.queue));
      if (wantsJson(cmd)) return ctx.output.out(json({ removed: job }));
      ctx.output.out(`${job.queue}/${job.id}: ${job.state}`);
    });
}
