import { Command, CommanderError } from "commander";
import { isPatchrollError } from "../errors/patchroll-error.js";
import type { CliContext } from "./context.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import { type Output, stdio } from "./output.js";
import { registerConfig } from "./commands/config.js";
import { registerDaemon } from "./commands/daemon.js";
import { registerEvents } from "./commands/events.js";
import { registerRollouts } from "./commands/rollouts.js";
import { registerContainers } from "./commands/containers.js";
import { registerScan } from "./commands/scan.js";
import { registerPins } from "./commands/pins.js";
import { registerJournal } from "./commands/journal.js";
import { registerPlan } from "./commands/plan.js";
import { registerReport } from "./commands/report.js";
import { registerStatus } from "./commands/status.js";
import { registerQueues } from "./commands/queues.js";
import { registerJobs } from "./commands/jobs.js";
import { registerRolloutControls } from "./commands/rollouts-control.js";
import { registerDoctor } from "./commands/doctor.js";
import { registerCompletion } from "./commands/completion.js";
import { registerFleet } from "./commands/fleet.js";

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function buildProgram(ctx: CliContext): Command {
  const program = new Command("patchroll")
    .description("Security-patch rollouts for LXC overlay containers on a shared host root")
    .version("0.1.0")
    .option("-c, --config <file>", "configuration file (default /etc/patchroll/config.yaml)")
    .option("--host-id <id>", "this host's id in Redis keys and journals")
    .option("--state-dir <dir>", "state directory")
    .option("--lxc-path <dir>", "LXC container directory")
    .option("--redis-url <url>", "a shared Redis instead of the embedded one")
    .option("--set <key=value>", "set any configuration key (repeatable), e.g. --set rollout.bakeMs=500", collect)
    .option("--json", "machine-readable output (stable shape, see docs/cli.md)")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (t) => ctx.output.out(t), writeErr: (t) => ctx.output.err(t) });
  for (const register of [registerDaemon, registerConfig, registerEvents, registerRollouts, registerContainers, registerScan, registerPlan, registerPins, registerJournal, registerReport, registerStatus, registerQueues, registerJobs, registerRolloutControls, registerDoctor, registerCompletion, registerFleet]) {
    register(program, ctx);
  }
  return program;
}

/** Runs the CLI; returns the exit code (also set on process.exitCode by the bin script). */
export async function main(argv: readonly string[], output: Output = stdio, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const ctx: CliContext = { output, env };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return ctx.exitCode ?? EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (isPatchrollError(err)) {
      output.err(`patchroll: ${err.message}`);
      return exitCodeFor(err.code);
    }
    output.err(`patchroll: internal error: ${(err as Error).stack ?? String(err)}`);
    return EXIT.INTERNAL;
  }
}
