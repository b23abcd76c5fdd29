import type { Command } from "commander";
import { getContainer } from "../../containers/discover.js";
import { listPins, unpin } from "../../containers/pins.js";
import { PatchrollError } from "../../errors/patchroll-error.js";
import { type CliContext, configFor, wantsJson } from "../context.js";
import { json, table } from "../output.js";

export function registerPins(program: Command, ctx: CliContext): void {
  program
    .command("pins")
    .description("containers running old package files on purpose after a rollback")
    .action((_opts: unknown, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const pins = listPins(config.stateDir);
      if (wantsJson(cmd)) return ctx.output.out(json({ pins }));
      if (pins.length === 0) return ctx.output.out("no pins");
      ctx.output.out(table(["CONTAINER", "PACKAGES", "SINCE", "ROLLOUT"], pins.map((p) => [p.container, p.packages.map((x) => `${x.name} ${x.version}`).join(", "), p.createdAt, p.rollout])));
    });
  program
    .command("unpin <container>")
    .description("remove a container's pinned old files; it runs the host's current files after its next restart")
    .action(async (container: string, _opts: unknown, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const info = await getContainer({ lxcPath: config.lxc.path, hostRoot: config.lxc.hostRoot }, container);
      if (info.deltaDir === undefined) throw new PatchrollError("CONTAINER_INVALID", `${container} has no delta dir; nothing to unpin`);
      const pin = unpin({ stateDir: config.stateDir, container, deltaDir: info.deltaDir });
      if (pin === undefined) throw new PatchrollError("NOT_FOUND", `${container} is not pinned; see patchroll pins`);
      if (wantsJson(cmd)) return ctx.output.out(json({ unpinned: pin }));
      ctx.output.out(`${container}: unpinned ${pin.packages.map((p) => `${p.name} ${p.version}`).join(", ")}; restart it (or wait for the next rollout) to run the current files`);
    });
}
