import type { Command } from "commander";
import { Daemon } from "../../daemon/daemon.js";
import { createLogger } from "../../log/logger.js";
import { type CliContext, configFor } from "../context.js";

export function registerDaemon(program: Command, ctx: CliContext): void {
  program
    .command("daemon")
    .description("run the long-lived process: embedded Redis, spool intake, workers (first SIGTERM drains, second forces)")
    .action(async (_opts: unknown, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const logger = createLogger(config.log.level);
      const daemon = new Daemon(config, logger);
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
