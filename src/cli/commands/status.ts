import type { Command } from "commander";
import { type CliContext, configFor, wantsJson } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { json } from "../output.js";

/**
 * `patchroll status`: one screen for the on-call engineer. Exit 5 when Redis is unreachable, 8 when a
 * rollout is halted, 7 when anything else needs a human, 0 otherwise. Heavy modules load in the action.
 */
export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command("status")
    .description("one screen: daemon, Redis, queues, rollouts, pins, containers, spool, exposure, and what needs a human")
    .action(async (_opts: unknown, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const { collectStatus } = await import("../../status/collect-status.js");
      const report = await collectStatus(config);
      if (!report.redis.reachable) ctx.exitCode = EXIT.REDIS;
      else if ((report.halted ?? []).length > 0) ctx.exitCode = EXIT.HALTED;
      else if (report.attention.length > 0) ctx.exitCode = EXIT.FINDINGS;
      if (wantsJson(cmd)) return ctx.output.out(json(report));
      const { renderStatus } = await import("../../status/render-status.js");
      ctx.output.out(renderStatus(report));
    });
}
