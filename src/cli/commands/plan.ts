import type { Command } from "commander";
import { PatchrollError } from "../../errors/patchroll-error.js";
import type { AptEvent } from "../../intake/apt-event.js";
import { EventStore } from "../../intake/event-store.js";
import { type CliContext, configFor, wantsJson } from "../context.js";
import { json, table } from "../output.js";
import { withRedis } from "../with-redis.js";

export function registerPlan(program: Command, ctx: CliContext): void {
  program
    .command("plan")
    .description("print the rollout an event (or a package change) would run, without acting")
    .option("--event <id>", "plan for this event (see patchroll events list)")
    .option("--packages <names...>", "plan for a change of these packages")
    .action(async (opts: { event?: string; packages?: string[] }, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      let event: Pick<AptEvent, "packages">;
      if (opts.event !== undefined) {
        const found = await withRedis(config, (r) => new EventStore(r, config).getEvent(opts.event!));
        if (found === undefined) throw new PatchrollError("NOT_FOUND", `no event ${opts.event} on host ${config.hostId}; see patchroll events list`);
        event = found;
      } else if (opts.packages !== undefined && opts.packages.length > 0) {
        event = { packages: opts.packages.map((name) => ({ name, arch: "any", from: null, to: null, action: "upgrade" as const })) };
      } else {
        throw new PatchrollError("USAGE", "plan needs --event ID or --packages NAME...");
      }
      const [{ LxcDriver }, { prepareRollout }] = await Promise.all([import("../../containers/lxc-driver.js"), import("../../rollout/prepare.js")]);
      const { plan } = await prepareRollout(event, config, new LxcDriver(config.lxc.path));
      if (wantsJson(cmd)) return ctx.output.out(json({ plan }));
      const lines = plan.batches.map((b, i) => `batch ${i + 1}: ${b.join(", ")}`);
      ctx.output.out(
        [
          `select=${plan.select}: ${plan.affected.length} container(s) to restart in ${plan.batches.length} batch(es)`,
          ...lines,
          "",
          plan.excluded.length > 0 ? table(["EXCLUDED", "REASON"], plan.excluded.map((e) => [e.name, e.reason])) : "nothing excluded",
        ].join("\n"),
      );
    });
}
