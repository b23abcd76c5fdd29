import type { Command } from "commander";
import { type CliContext, configFor, wantsJson } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { json } from "../output.js";

/** `patchroll doctor`: checks the installation; exit 7 when it finds anything. */
export function registerDoctor(program: Command, ctx: CliContext): void {
  program
    .command("doctor")
    .description("check the installation (apt hooks, host root mount, Redis, spool, journal, clock, hidden paths, secrets inside containers) and say how to fix each finding")
    .option("--apt-config <file>", "also read this apt configuration file (apt-config -c), e.g. to check a snippet before installing it")
    .action(async (opts: { aptConfig?: string }, cmd: Command) => {
      const loaded = configFor(cmd, ctx);
      const [{ runDoctor }, { LxcDriver }, { tokenFilePath }] = await Promise.all([import("../../doctor/run-doctor.js"), import("../../containers/lxc-driver.js"), import("../../http/token-file.js")]);
      const results = await runDoctor({
        config: loaded.config,
        ...(loaded.file !== undefined ? { configFile: loaded.file } : {}),
        tokenFile: tokenFilePath(loaded.config),
        driver: new LxcDriver(loaded.config.lxc.path),
        ...(opts.aptConfig !== undefined ? { aptConfigFile: opts.aptConfig } : {}),
        now: () => new Date(),
      });
      if (results.some((r) => r.findings.length > 0)) ctx.exitCode = EXIT.FINDINGS;
      if (wantsJson(cmd)) return ctx.output.out(json({ checks: results }));
      const { renderDoctor } = await import("../../doctor/render-doctor.js");
      ctx.output.out(renderDoctor(results));
    });
}
