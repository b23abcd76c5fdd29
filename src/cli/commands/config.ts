import type { Command } from "commander";
import { stringify } from "yaml";
import { redact } from "../../config/redact.js";
import { fleetEnabled } from "../../fleet/fleet-mode.js";
import { type CliContext, configFor, wantsJson } from "../context.js";
import { json } from "../output.js";

export function registerConfig(program: Command, ctx: CliContext): void {
  const config = program.command("config").description("inspect the configuration");
  config
    .command("check [file]")
    .description("validate a configuration file (default: the configured one) and print the effective configuration, secrets redacted")
    .action((file: string | undefined, _opts: unknown, cmd: Command) => {
      const loaded = configFor(cmd, ctx, file);
      fleetEnabled(loaded.config); // fleet mode's own rules (a shared Redis), with the key to set
      const shown = redact(loaded.config);
      if (wantsJson(cmd)) {
        ctx.output.out(json({ file: loaded.file ?? null, valid: true, config: shown }));
        return;
      }
      ctx.output.out(`# ${loaded.file ?? "no configuration file: defaults"} is valid; effective configuration:\n${stringify(shown)}`);
    });
}
