import type { Command } from "commander";
import { listPins, readPin } from "../../containers/pins.js";
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
    .description("remove a container's pinned old files; a running container is restarted onto the host's current files")
    .action(async (container: string, _opts: unknown, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const [{ getContainer }, { LxcDriver }, { releasePin }] = await Promise.all([import("../../containers/discover.js"), import("../../containers/lxc-driver.js"), import("../../containers/release-pin.js")]);
      const driver = new LxcDriver(config.lxc.path);
      const info = await getContainer({ lxcPath: config.lxc.path, hostRoot: config.lxc.hostRoot, driver }, container);
      if (info.deltaDir === undefined) throw new PatchrollError("CONTAINER_INVALID", `${container} has no delta dir; nothing to unpin`);
      if (readPin(config.stateDir, container) === undefined) throw new PatchrollError("NOT_FOUND", `${container} is not pinned; see patchroll pins`);
      const { pin, restarted } = await releasePin({ stateDir: config.stateDir, container, deltaDir: info.deltaDir, driver, stopTimeoutSec: config.lxc.stopTimeoutSec });
      if (wantsJson(cmd)) return ctx.output.out(json({ unpinned: pin, restarted }));
      ctx.output.out(`${container}: unpinned ${pin?.packages.map((p) => `${p.name} ${p.version}`).join(", ") ?? ""}; ${restarted ? "restarted: it runs the host's current files now (check it: patchroll scan)" : "it is stopped; it runs the current files when started"}`);
    });
}
