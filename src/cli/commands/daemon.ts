import { type Command, Option } from "commander";
import { createLogger } from "../../log/logger.js";
import { type CliContext, configFor } from "../context.js";

export function registerDaemon(program: Command, ctx: CliContext): void {
  program
    .command("daemon")
    .description("run the long-lived process: embedded Redis, spool intake, workers (first SIGTERM drains, second forces)")
    // Fault injection for the crash tests: kill -9 this process right before STEP (of CONTAINER) starts.
    .addOption(new Option("--fault-kill-at <step[@container]>").hideHelp())
    .action(async (opts: { faultKillAt?: string }, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const logger = createLogger(config.log.level);
      // Loaded here, not at start-up: every other command starts faster without the daemon's modules.
      const { Daemon } = await import("../../daemon/daemon.js");
      const daemon = new Daemon(config, logger, opts.faultKillAt !== undefined ? { checkpoint: killAt(opts.faultKillAt) } : {});
      await daemon.start();
      await new Promise<void>((resolve) => {
        let stopping = false;
        const onSignal = (signal: NodeJS.Signals) => {
          if (stopping) {
            logger.warn({ signal }, "second signal: forcing shutdown");
            void daemon.stop(0).then(resolve);
            return;
          }
          stopping = true;
          logger.info({ signal }, "draining: finishing the current step, then stopping");
          void daemon.stop().then(resolve);
        };
        process.on("SIGTERM", onSignal);
        process.on("SIGINT", onSignal);
      });
    });
}

/** A checkpoint that kills the process (SIGKILL, no cleanup) at the first boundary matching `spec`. */
function killAt(spec: string): (container: string, step: string) => void {
  const [step, container] = spec.split("@");
  return (c, s) => {
    if (s === step && (container === undefined || container === c)) process.kill(process.pid, "SIGKILL");
  };
}
