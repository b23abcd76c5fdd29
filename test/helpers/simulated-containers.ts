import type { HealthCheck } from "../../src/config/schema.js";
import type { ContainerDriver, ContainerState } from "../../src/containers/driver.js";
import { silentLogger } from "../../src/log/logger.js";
import type { RestartDeps, RestartTarget } from "../../src/rollout/container-restart.js";

/** How one simulated container behaves; every field defaults to a container that takes the patch well. */
export interface SimulatedBehaviour {
  /** The patched files break its service: unhealthy once started on them, healthy again on the old ones (after a restore). */
  brokenByPatch?: boolean;
  /** Its service never answers, whatever files it runs. */
  neverHealthy?: boolean;
  /** `start` fails with this message. */
  startFails?: string;
  /** `stop` fails with this message. */
  stopFails?: string;
  /** Taking a snapshot fails with this message. */
  snapshotFails?: string;
  /** After the restart it still maps outdated files (`verify` says no). */
  staysStale?: boolean;
}

interface SimulatedContainer {
  state: ContainerState;
  pid: number;
  /** Runs the patched files (started since the last restore). */
  onPatchedFiles: boolean;
  behaviour: SimulatedBehaviour;
}

/** The command health check every simulated container is given: the simulation answers it by the container's behaviour. */
export const SIMULATED_HEALTH: readonly HealthCheck[] = [{ type: "command", argv: ["simulated-health"], timeoutMs: 1000 }];

/**
 * A SIMULATION of a container runtime, for fast table-driven tests of the rollout engine: no LXC, no
 * processes, no files. It implements the `ContainerDriver` seam with containers that exist only in memory,
 * answers the `simulated-health` command check by each container's {@link SimulatedBehaviour}, and records
 * every call in order (`calls`, e.g. `"stop web-1"`), so a test can assert what the engine did to which
 * container. It does not replace the real-LXC tests (test/rollout/*.lxc.test.ts).
 */
export class SimulatedContainerDriver implements ContainerDriver {
  readonly runtime = "simulated";
  readonly calls: string[] = [];
  private readonly containers = new Map<string, SimulatedContainer>();
  private nextPid = 1000;

  constructor(behaviours: Record<string, SimulatedBehaviour>) {
    for (const [name, behaviour] of Object.entries(behaviours)) {
      this.containers.set(name, { state: "RUNNING", pid: this.nextPid++, onPatchedFiles: false, behaviour });
    }
  }

  /** The calls made for one container, without its name: `["stop", "snapshot", "start", ...]`. */
  callsOf(name: string): string[] {
    return this.calls.filter((c) => c.endsWith(` ${name}`) || c.includes(` ${name} `)).map((c) => c.split(" ")[0]!);
  }

  private get(name: string): SimulatedContainer {
    const c = this.containers.get(name);
    if (c === undefined) throw new Error(`simulated: no container ${name}`);
    return c;
  }

  async start(name: string): Promise<void> {
    this.calls.push(`start ${name}`);
    const c = this.get(name);
    if (c.behaviour.startFails !== undefined) throw new Error(c.behaviour.startFails);
    if (c.state !== "RUNNING") {
      c.state = "RUNNING";
      c.pid = this.nextPid++;
      c.onPatchedFiles = !this.restored.has(name);
    }
  }

  async stop(name: string): Promise<void> {
    this.calls.push(`stop ${name}`);
    const c = this.get(name);
    if (c.behaviour.stopFails !== undefined) throw new Error(c.behaviour.stopFails);
    c.state = "STOPPED";
  }

  async state(name: string): Promise<ContainerState> {
    return this.get(name).state;
  }

  async initPid(name: string): Promise<number | undefined> {
    const c = this.get(name);
    return c.state === "RUNNING" ? c.pid : undefined;
  }

  async pids(name: string): Promise<number[]> {
    const c = this.get(name);
    return c.state === "RUNNING" ? [c.pid] : [];
  }

  async attach(name: string, argv: readonly string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const c = this.get(name);
    if (c.state !== "RUNNING") return { exitCode: 1, stdout: "", stderr: "not running" };
    if (argv[0] !== "simulated-health") return { exitCode: 127, stdout: "", stderr: `simulated: no command ${argv[0] ?? ""}` };
    const healthy = c.behaviour.neverHealthy !== true && !(c.behaviour.brokenByPatch === true && c.onPatchedFiles);
    return healthy ? { exitCode: 0, stdout: "ok\n", stderr: "" } : { exitCode: 1, stdout: "", stderr: "simulated: service broken\n" };
  }

  /** Containers whose delta was restored: they run the old files (pinned) from their next start on. */
  private readonly restored = new Set<string>();

  /** The simulated world behind the other restart steps: snapshot, restore, pin and verify, recorded in `calls` too. */
  restartDeps(): Omit<RestartDeps, "journal" | "policy"> {
    return {
      driver: this,
      stopTimeoutSec: 1,
      logger: silentLogger(),
      snapshot: async (t) => {
        this.calls.push(`snapshot ${t.name}`);
        const fails = this.get(t.name).behaviour.snapshotFails;
        if (fails !== undefined) throw new Error(fails);
        return `snap-${t.name}`;
      },
      restore: async (t, id) => {
        this.calls.push(`restore ${t.name} ${id}`);
        this.restored.add(t.name);
        this.get(t.name).onPatchedFiles = false;
      },
      pin: async (t) => {
        this.calls.push(`pin ${t.name}`);
        return { pinned: true, detail: "simulated: old package files pinned" };
      },
      verify: async (t) => {
        this.calls.push(`verify ${t.name}`);
        const stale = this.get(t.name).behaviour.staysStale === true;
        return { ok: !stale, detail: stale ? "still maps outdated files: /usr/lib/libsim.so.1" : "no process maps an outdated file of the changed packages" };
      },
    };
  }
}

/** Restart targets for simulated containers (group `default` unless given), each with {@link SIMULATED_HEALTH}. */
export function simulatedTargets(names: readonly string[], groups: Record<string, string> = {}): Map<string, RestartTarget> {
  return new Map(names.map((name) => [name, { name, group: groups[name] ?? "default", deltaDir: `/simulated/${name}/delta`, health: SIMULATED_HEALTH }]));
}
