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
    .option("-p, --packages <names...>", "judge these packages' files only, and list every file of them the delta shadows, used or not")
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
  const more = (n: number) => (n > 1 ? ` (+${n - 1} more)` : "");
  if (scan.stale.length > 0) {
    const s = scan.stale[0]!;
    const how = s.via === "fd" ? `holds ${s.path} open on fd ${s.fd ?? "?"}` : `maps ${s.path}`;
    return `pid ${s.pid} (${s.comm}) ${how} inode ${s.mappedInode}, host has ${s.hostInode ?? "no file"}${s.package ? ` [${s.package}]` : ""}${more(scan.stale.length + scan.interpreted.length)}`;
  }
  if (scan.interpreted.length > 0) return `${scan.interpreted[0]!.evidence}${more(scan.interpreted.length)}`;
  if (scan.shadowed.length > 0) {
    const s = scan.shadowed[0]!;
    const pkg = s.package !== undefined ? ` [${s.package}${s.hostVersion !== undefined ? ` ${s.hostVersion}` : ""}]` : "";
    const used = s.usedBy !== undefined ? `, run by pid ${s.usedBy.map((u) => `${u.pid} (${u.comm})`).join(", ")}` : "";
    return `${s.kind} ${s.path}${pkg}: ${s.deltaHolds ?? "the delta hides the host's file"}${used}; a restart cannot fix it: ${s.fix ?? "remove it from the delta"}${more(scan.shadowed.length)}`;
  }
  if (scan.pinned.length > 0) return `pinned: ${scan.pinned.map((s) => s.path).join(", ")}`;
  return scan.notes.join("; ");
}
