import type { Command } from "commander";
import { pinnedPaths } from "../../containers/pins.js";
import type { scanHost } from "../../detect/scan.js";
import { type CliContext, configFor, wantsJson } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { json, table } from "../output.js";

export function registerScan(program: Command, ctx: CliContext): void {
  program
    .command("scan")
    .description("one verdict per container: patched, stale, shadowed, pinned, own-dpkg or stopped, with evidence (read-only)")
    .option("-p, --packages <names...>", "judge these packages' files only (also enables the shadow check)")
    .action(async (opts: { packages?: string[] }, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const { scanHost } = await import("../../detect/scan.js");
      const found = await scanHost(
        { lxcPath: config.lxc.path, hostRoot: config.lxc.hostRoot },
        { ...(opts.packages !== undefined ? { packages: opts.packages } : {}), pinnedPathsOf: (n) => pinnedPaths(config.stateDir, n) },
      );
      const managed = found.filter((f) => f.info.managed);
      if (managed.some((f) => f.scan.verdict === "stale" || f.scan.verdict === "shadowed")) ctx.exitCode = EXIT.FINDINGS;
      if (wantsJson(cmd)) return ctx.output.out(json({ containers: managed.map((f) => f.scan) }));
      if (managed.length === 0) return ctx.output.out(`no managed containers in ${config.lxc.path}`);
      ctx.output.out(table(["CONTAINER", "VERDICT", "EVIDENCE"], managed.map(({ scan }) => [scan.name, scan.verdict, evidence(scan)])));
    });
}

function evidence(scan: Awaited<ReturnType<typeof scanHost>>[number]["scan"]): string {
  if (scan.stale.length > 0) {
    const s = scan.stale[0]!;
    const more = scan.stale.length > 1 ? ` (+${scan.stale.length - 1} more)` : "";
    return `pid ${s.pid} (${s.comm}) maps ${s.path} inode ${s.mappedInode}, host has ${s.hostInode ?? "no file"}${s.package ? ` [${s.package}]` : ""}${more}`;
  }
  if (scan.shadowed.length > 0) return scan.shadowed.map((s) => `${s.kind} ${s.path}`).join(", ");
  if (scan.pinned.length > 0) return `pinned: ${scan.pinned.map((s) => s.path).join(", ")}`;
  return scan.notes.join("; ");
}
