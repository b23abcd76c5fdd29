import type { Command } from "commander";
import { type CliContext, configFor, wantsJson } from "../context.js";
import { json, table } from "../output.js";

export function registerQueues(program: Command, ctx: CliContext): void {
  program
    .command("queues")
    .description("job counts per queue and state, stalled jobs and connected workers")
    .action(async (_opts: unknown, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const [{ withQueues }, { queueCounts, COUNTED_STATES }] = await Promise.all([import("../../status/with-queues.js"), import("../../status/queue-counts.js")]);
      const counts = await withQueues(config, (redis, queues) => queueCounts(redis, queues));
      if (wantsJson(cmd)) return ctx.output.out(json({ queues: counts }));
      ctx.output.out(
        table(
          ["QUEUE", ...COUNTED_STATES.map((s) => s.toUpperCase()), "STALLED", "WORKERS", "PAUSED"],
          counts.map((q) => [q.queue, ...COUNTED_STATES.map((s) => String(q.counts[s])), String(q.stalled), String(q.workers), q.paused ? "yes" : "no"]),
        ),
      );
    });
}
