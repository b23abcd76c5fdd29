import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { PatchrollError } from "../errors/patchroll-error.js";
import { runTool } from "../proc/run-tool.js";
import { cgroupPids } from "./cgroup-pids.js";
import type { ContainerDriver, ContainerState, ContainerStatus } from "./driver.js";
import { assertContainerName } from "./name.js";

/** Tuning of {@link LxcDriver}; every field has a default. */
export interface LxcDriverOptions {
  /** How long `start` waits for RUNNING. Default 15000. */
  startTimeoutMs?: number;
  /** Time bound of `lxc-info`, `lxc-ls` and `lxc-start` calls. Default 10000. */
  commandTimeoutMs?: number;
}

const STATES: ReadonlySet<string> = new Set(["RUNNING", "STOPPED", "STARTING", "STOPPING", "FROZEN", "ABORTING"]);
/** The only environment LXC tools get: patchroll's own (credentials included) never reaches a container. */
const TOOL_ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C" };
/** File name, in the container's dir, of the monitor pid `lxc-start -p` writes. */
const MONITOR_PID_FILE = "lxc-monitor.pid";

function toState(text: string): ContainerState {
  const s = text.trim();
  return STATES.has(s) ? (s as ContainerState) : "UNKNOWN";
}

/** {@link ContainerDriver} over the LXC command-line tools, for containers under one `lxcPath` (`-P`). */
export class LxcDriver implements ContainerDriver {
  readonly runtime = "lxc";
  private readonly startTimeoutMs: number;
  private readonly commandTimeoutMs: number;

  constructor(readonly lxcPath: string, options: LxcDriverOptions = {}) {
    this.startTimeoutMs = options.startTimeoutMs ?? 15_000;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 10_000;
  }

  private run(tool: string, args: readonly string[], timeoutMs = this.commandTimeoutMs) {
    return runTool(tool, ["-P", this.lxcPath, ...args], { timeoutMs, killAfterMs: 2000, env: TOOL_ENV }).result;
  }

  private configured(name: string): void {
    assertContainerName(name);
    if (!existsSync(join(this.lxcPath, name, "config"))) {
      throw new PatchrollError("NOT_FOUND", `container ${name} does not exist in ${this.lxcPath} (no ${join(this.lxcPath, name, "config")}); check the name with lxc-ls -P ${this.lxcPath}.`);
    }
  }

  async state(name: string): Promise<ContainerState> {
    this.configured(name);
    const r = await this.run("lxc-info", ["-n", name, "-sH"]);
    if (r.exitCode !== 0) return "UNKNOWN";
    return toState(r.stdout);
  }

  async initPid(name: string): Promise<number | undefined> {
    this.configured(name);
    const known = this.monitoredInit(name);
    if (known !== undefined) return known;
    const r = await this.run("lxc-info", ["-n", name, "-pH"]);
    const pid = Number.parseInt(r.stdout.trim(), 10);
    return r.exitCode === 0 && pid > 0 ? pid : undefined;
  }

  async pids(name: string): Promise<number[]> {
    const pid = await this.initPid(name);
    return pid === undefined ? [] : cgroupPids(pid);
  }

  /**
   * `lxc-start -d` returns once LXC reports RUNNING or STOPPED; a container that stays STOPPED failed to
   * start (mount, config or init errors). RUNNING only means init runs: a service that exits right after
   * its exec is for the health checks to catch (measured: `-- /bin/false` reports RUNNING, then STOPPED).
   */
  async start(name: string): Promise<void> {
    this.configured(name);
    const log = join(this.lxcPath, name, "lxc-start.log");
    const r = await this.run("lxc-start", ["-n", name, "-d", "-o", log, "-l", "ERROR", "-p", this.monitorPidFile(name)]);
    // An already running container makes lxc-start fail; that is success here.
    if (r.exitCode !== 0 && (await this.state(name)) !== "RUNNING") this.startFailed(name, `lxc-start exited with ${String(r.exitCode ?? r.signal ?? r.startError?.code)}: ${r.stderr.trim()}`, log);
    if (r.exitCode === 0 && this.monitoredInit(name) !== undefined) return;
    const deadline = Date.now() + this.startTimeoutMs;
    let stoppedPolls = 0;
    for (;;) {
      const state = await this.state(name);
      if (state === "RUNNING") return;
      stoppedPolls = state === "STOPPED" ? stoppedPolls + 1 : 0;
      if (stoppedPolls >= 3) this.startFailed(name, "it stopped right after lxc-start (its service exited or could not run)", log);
      if (Date.now() > deadline) this.startFailed(name, `still ${state} after ${this.startTimeoutMs} ms`, log);
      await sleep(50);
    }
  }

  /** Where `start` has lxc-start write the pid of the container's monitor (LXC removes it at stop). */
  monitorPidFile(name: string): string {
    return join(this.lxcPath, name, MONITOR_PID_FILE);
  }

  /**
   * The init pid of a container this driver started, read from /proc without starting a process (an
   * `lxc-info` costs a process start, ~3-5 ms of a busy host's CPU). The pid file names the monitor, which
   * LXC titles "[lxc monitor] LXCPATH NAME" and whose one child is the container's init; a pid file left
   * by a monitor that was killed, and a pid since reused, fail that check. Undefined when anything does
   * not match: callers then ask `lxc-info`.
   */
  monitoredInit(name: string): number | undefined {
    try {
      const monitor = Number.parseInt(readFileSync(this.monitorPidFile(name), "utf8"), 10);
      if (!(monitor > 0)) return undefined;
      const title = readFileSync(`/proc/${monitor}/cmdline`, "latin1").replace(/[\0 ]+$/, "");
      if (title !== `[lxc monitor] ${this.lxcPath} ${name}`) return undefined;
      const [init, ...others] = readFileSync(`/proc/${monitor}/task/${monitor}/children`, "latin1").trim().split(" ").map(Number);
      return init !== undefined && init > 0 && others.length === 0 ? init : undefined;
    } catch {
      return undefined;
    }
  }

  private startFailed(name: string, what: string, log: string): never {
    let tail = "";
    try {
      tail = readFileSync(log, "utf8").trim().split("\n").slice(-5).join(" | ");
    } catch {
      // no log written
    }
    throw new PatchrollError(
      "CONTAINER_FAILED",
      `container ${name} did not start: ${what}.${tail === "" ? "" : ` LXC log: ${tail}.`} Run it in the foreground to see why: lxc-start -F -P ${this.lxcPath} -n ${name}`,
    );
  }

  async stop(name: string, timeoutSec: number): Promise<void> {
    this.configured(name);
    // lxc-stop exits 2 when the container is not running (or stopped on its own meanwhile): the state
    // check below decides, so no state query is spent before it (each lxc-info costs a process start).
    const r = await this.run("lxc-stop", ["-n", name, "-t", String(timeoutSec)], (timeoutSec + 15) * 1000);
    // Exit 0: lxc-stop saw it stopped (it kills by itself once the timeout passes); no need to ask again.
    if (r.exitCode === 0 || (await this.state(name)) === "STOPPED") return;
    await this.run("lxc-stop", ["-n", name, "-k"]);
    const state = await this.state(name);
    if (state !== "STOPPED") {
      throw new PatchrollError("CONTAINER_FAILED", `container ${name} is still ${state} after lxc-stop and lxc-stop -k; look at its processes (lxc-info -P ${this.lxcPath} -n ${name}) and kill them.`);
    }
  }

  /** Runs `argv` inside the container with a cleared environment (only PATH set): no host secret leaks in. */
  async attach(name: string, argv: readonly string[], timeoutMs: number): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    this.configured(name);
    const r = await this.run("lxc-attach", ["-n", name, "--clear-env", "--set-var", `PATH=${TOOL_ENV.PATH}`, "--", ...argv], timeoutMs);
    if (r.timedOut) throw new PatchrollError("CONTAINER_FAILED", `command ${JSON.stringify(argv)} in container ${name} did not finish within ${timeoutMs} ms and was killed.`);
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** State and init pid of every container under `lxcPath`, from one `lxc-ls --fancy` run. */
  async list(): Promise<ContainerStatus[]> {
    const r = await this.run("lxc-ls", ["-f", "-F", "NAME,STATE,PID"]);
    if (r.exitCode !== 0) throw new PatchrollError("CONTAINER_FAILED", `lxc-ls -P ${this.lxcPath} failed: ${r.stderr.trim()}`);
    return r.stdout.split("\n").slice(1).flatMap((line) => {
      const [name, state, pid] = line.trim().split(/\s+/);
      if (name === undefined || name === "" || state === undefined) return [];
      const initPid = Number.parseInt(pid ?? "", 10);
      return [{ name, state: toState(state), initPid: initPid > 0 ? initPid : undefined }];
    });
  }
}
