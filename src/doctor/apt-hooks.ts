import { accessSync, closeSync, constants, openSync, readSync } from "node:fs";
import { resolve } from "node:path";
import { captureDir } from "../intake/capture.js";
import { runToolOk } from "../proc/tool-failure.js";
import { type AptHookConfig, findHook, parseAptConfigDump } from "./apt-hooks-parse.js";
import type { DoctorCheck, Finding } from "./check.js";

const INSTALL = "install the apt snippet: cp deploy/apt/50patchroll /etc/apt/apt.conf.d/50patchroll, with the hooks in /usr/lib/patchroll/hooks/ (the paths the snippet names)";

/** What a hook program is: hooks/build.sh makes it the compiled hook, or the sh version where no C compiler was. */
export type HookProgram = "missing" | "compiled" | "script";

function inspectProgram(path: string): HookProgram {
  try {
    accessSync(path, constants.X_OK);
    const fd = openSync(path, "r");
    try {
      const head = Buffer.alloc(4);
      readSync(fd, head, 0, 4, 0);
      return head.equals(Buffer.from("\x7fELF", "latin1")) ? "compiled" : "script";
    } finally {
      closeSync(fd);
    }
  } catch {
    return "missing";
  }
}

/** Judges apt's hook configuration against patchroll's (pure but for the look at the hook programs). */
export function judgeAptHooks(apt: AptHookConfig, want: { spoolDir: string; stateDir: string }, inspect: (p: string) => HookProgram = inspectProgram): Finding[] {
  const findings: Finding[] = [];
  const pre = findHook(apt.preInstall, "apt-pre-install-pkgs");
  const post = findHook(apt.postInvoke, "apt-post-invoke");
  if (pre === undefined) findings.push({ severity: "error", problem: "apt has no patchroll DPkg::Pre-Install-Pkgs hook: package changes are only found later from dpkg.log, and no old files are captured for rollbacks", fix: INSTALL, runbook: "hook-warning" });
  if (post === undefined) findings.push({ severity: "error", problem: "apt has no patchroll DPkg::Post-Invoke hook: the daemon cannot tell when an apt run is over and waits for a timeout", fix: INSTALL, runbook: "hook-warning" });
  for (const hook of [pre, post]) {
    if (hook === undefined) continue;
    const dir = hook.program.replace(/\/[^/]+$/, "");
    const program = inspect(hook.program);
    if (program === "missing") findings.push({ severity: "error", problem: `apt runs ${hook.program}, which is missing or not executable: every apt run prints an error and no record is written`, fix: `reinstall patchroll (deploy/install.sh or the .deb), or lay the hooks out there: sh hooks/build.sh ${dir}`, runbook: "hook-warning" });
    else if (program === "script") findings.push({ severity: "warning", problem: `apt runs the sh version of ${hook.program} (no C compiler when the hooks were built): it adds about twice the time of the compiled hook to every dpkg run`, fix: `apt-get install gcc libc6-dev, then sh ${dir}/build.sh (or reinstall patchroll)`, runbook: "hook-warning" });
    if (hook.spool === undefined) findings.push({ severity: "error", problem: `the hook command "${hook.command}" has no --spool DIR: it writes no record`, fix: `add --spool ${want.spoolDir} to it in /etc/apt/apt.conf.d/50patchroll`, runbook: "hook-warning" });
    else if (resolve(hook.spool) !== resolve(want.spoolDir)) findings.push({ severity: "error", problem: `the hook writes to ${hook.spool} but the daemon reads spoolDir ${want.spoolDir}: no package change reaches patchroll`, fix: `make them agree: --spool ${want.spoolDir} in /etc/apt/apt.conf.d/50patchroll, or spoolDir: ${hook.spool} in the configuration`, runbook: "spool-backlog" });
  }
  if (pre !== undefined) {
    const version = apt.versions.get(pre.program);
    if (version !== "3") findings.push({ severity: "error", problem: `DPkg::Tools::Options::${pre.program}::Version is ${version === undefined ? "unset" : `"${version}"`}: apt then sends no versions, so events have no "from" and "to"`, fix: `add DPkg::Tools::Options::${pre.program}::Version "3"; to /etc/apt/apt.conf.d/50patchroll`, runbook: "hook-warning" });
    const words = pre.command.split(/\s+/);
    const i = words.indexOf("--capture");
    const capture = i >= 0 ? words[i + 1] : undefined;
    if (capture === undefined) findings.push({ severity: "warning", problem: "the pre-install hook captures no old package files (no --capture DIR): a failed container can be rolled back but not pinned to the old version", fix: `add --capture ${captureDir(want.stateDir)} to the hook command`, runbook: "container-pinned" });
    else if (resolve(capture) !== resolve(captureDir(want.stateDir))) findings.push({ severity: "warning", problem: `the hook captures old files into ${capture} but rollbacks look in ${captureDir(want.stateDir)}: pins will find nothing`, fix: `use --capture ${captureDir(want.stateDir)}`, runbook: "container-pinned" });
  }
  return findings;
}

/** apt's effective hook configuration, read with `apt-config dump` the way apt itself reads it. */
export const aptHooksCheck: DoctorCheck = {
  id: "apt-hooks",
  title: "apt hooks installed",
  async run(ctx) {
    const args = [...(ctx.aptConfigFile !== undefined ? ["-c", ctx.aptConfigFile] : []), "dump"];
    let stdout: string;
    try {
      ({ stdout } = await runToolOk("apt-config", args, { timeoutMs: 10_000, killAfterMs: 1000 }));
    } catch (err) {
      return { skipped: `apt-config failed: ${(err as Error).message.split("\n")[0]}` };
    }
    return judgeAptHooks(parseAptConfigDump(stdout), ctx.config);
  },
};
