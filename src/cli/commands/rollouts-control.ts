import { userInfo } from "node:os";
import type { Command } from "commander";
import { PatchrollError } from "../../errors/patchroll-error.js";
import type { ControlAction } from "../../rollout/controls.js";
import { type CliContext, configFor, wantsJson } from "../context.js";
import { json } from "../output.js";

const ACTIONS: { action: ControlAction; description: string }[] = [
  { action: "pause", description: "stop a rollout at its next step boundary (the container being restarted finishes first)" },
  { action: "resume", description: "continue a paused rollout" },
  { action: "abort", description: "end a rollout: no further container is restarted (--roll-back-completed also rolls back the patched ones)" },
  { action: "approve", description: "open a rollout's approval gate (default: the gate it waits at, or the next one it reaches)" },
  { action: "retry", description: "run a halted or failed rollout again, from where its journal ends" },
];

/** The login user behind the command: `sudo` keeps it in SUDO_USER. Journaled as who asked. */
export function operatorName(env: NodeJS.ProcessEnv): string {
  const sudo = env["SUDO_USER"];
  if (sudo !== undefined && sudo !== "") return sudo;
  try {
    return userInfo().username;
  } catch {
    return env["LOGNAME"] ?? env["USER"] ?? "unknown";
  }
}

interface ControlFlags {
  why: string;
  batch?: string;
  rollBackCompleted?: boolean;
}

/** Adds `rollouts pause|resume|abort|approve|retry ROLLOUT --why TEXT` to the `rollouts` command. */
export function registerRolloutControls(program: Command, ctx: CliContext): void {
  const rollouts = program.commands.find((c) => c.name() === "rollouts") ?? program.command("rollouts").description("rollouts on this host");
  for (const { action, description } of ACTIONS) {
    const sub = rollouts
      .command(`${action} <rollout>`)
      .description(description)
      .requiredOption("--why <text>", "why, in your words: journaled with your login name and shown in reports");
    if (action === "approve") sub.option("--batch <n>", "the batch (1-based) whose gate to open; default: the gate it waits at");
    if (action === "abort") sub.option("--roll-back-completed", "also roll back the containers already patched by this rollout");
    sub.action(async (rolloutId: string, opts: ControlFlags, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      if (opts.why.trim() === "") throw new PatchrollError("USAGE", "--why must say why (it is journaled)");
      const batch = opts.batch === undefined ? undefined : Number(opts.batch);
      if (batch !== undefined && !(Number.isInteger(batch) && batch > 0)) throw new PatchrollError("USAGE", `--batch ${opts.batch}: expected a batch number from 1`);
      const [{ withQueues }, { controlRollout }] = await Promise.all([import("../../status/with-queues.js"), import("../../status/control-rollout.js")]);
      const result = await withQueues(config, (redis, queues) =>
        controlRollout(redis, queues, config, {
          action,
          rolloutId,
          who: operatorName(ctx.env),
          why: opts.why,
          ...(opts.rollBackCompleted === true ? { rollBackCompleted: true } : {}),
          ...(batch !== undefined ? { batch } : {}),
        }),
      );
      if (wantsJson(cmd)) return ctx.output.out(json(result));
      const c = result.controls;
      const standing = [c.paused ? `paused by ${c.paused.who}` : "not paused", ...(c.aborted ? [`aborted by ${c.aborted.who}`] : []), ...(c.approved.length > 0 ? [`approved batches ${c.approved.join(", ")}`] : [])].join(", ");
      const extra = result.batch !== undefined ? ` (batch ${result.batch})` : result.requeued !== undefined ? ` (queued again, attempt ${result.requeued})` : "";
      ctx.output.out(`rollout ${rolloutId}: ${action} recorded${extra}; now ${standing}. Follow it with: patchroll rollouts show ${rolloutId}`);
    });
  }
}
