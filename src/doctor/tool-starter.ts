import { readFileSync } from "node:fs";
import { PRSPAWN, runTool } from "../proc/run-tool.js";
import type { DoctorCheck, Finding } from "./check.js";

/** How the daemon starts its tools, as seen by starting one. */
export interface ToolStarterFacts {
  /** The prspawn binary this installation has; "" when it was not built. */
  binary: string;
  /** PATCHROLL_PRSPAWN=0 in the environment. */
  switchedOff: boolean;
  /** The name of the process that started a test tool ("prspawn", or Node's "MainThread"/"node"); undefined when none started. */
  startedBy?: string;
  /** Why the test tool did not run, when it did not. */
  error?: string;
}

const WHY = "the daemon then starts lxc-stop, lxc-start and cp from Node, which blocks its event loop for 1-6 ms per start (it forks the whole daemon): rollouts of many containers take longer (docs/perf.md)";

/** Judges how tools are started (pure). */
export function judgeToolStarter(f: ToolStarterFacts): Finding[] {
  if (f.error !== undefined) return [{ severity: "error", problem: `starting a tool (/bin/true) failed: ${f.error}: no container can be stopped or started`, fix: "run patchroll doctor again as root; reinstall patchroll (deploy/install.sh or the .deb) if it persists" }];
  if (f.switchedOff) return [{ severity: "warning", problem: `prspawn is switched off (PATCHROLL_PRSPAWN=0): ${WHY}`, fix: "remove PATCHROLL_PRSPAWN=0 from the daemon's environment (systemctl edit patchroll)" }];
  if (f.binary === "") return [{ severity: "warning", problem: `prspawn is not built (no C compiler when patchroll was built): ${WHY}`, fix: "apt-get install gcc libc6-dev, then reinstall patchroll (deploy/install.sh, or npm run build in a checkout)" }];
  if (f.startedBy !== "prspawn") return [{ severity: "warning", problem: `${f.binary} is there but a test tool was started by ${f.startedBy ?? "nothing"}, not by it: it fails to run here, and ${WHY}`, fix: `run ${f.binary} < /dev/null by hand to see why (it should exit at once, silently); reinstall patchroll` }];
  return [];
}

/** Starts /bin/sh the way the daemon starts its tools and asks it who its parent is. */
async function gather(): Promise<ToolStarterFacts> {
  const facts: ToolStarterFacts = { binary: PRSPAWN, switchedOff: process.env["PATCHROLL_PRSPAWN"] === "0" };
  const r = await runTool("/bin/sh", ["-c", "echo $PPID"], { timeoutMs: 10_000 }).result;
  if (r.exitCode !== 0) return { ...facts, error: r.stderr || `exit ${r.exitCode ?? r.signal ?? "?"}` };
  try {
    return { ...facts, startedBy: readFileSync(`/proc/${r.stdout.trim()}/comm`, "utf8").trim() };
  } catch {
    return facts;
  }
}

/** prspawn, the daemon's tool starter: built, not switched off, and working. */
export const toolStarterCheck: DoctorCheck = {
  id: "tool-starter",
  title: "tools start through prspawn",
  run: async () => judgeToolStarter(await gather()),
};
