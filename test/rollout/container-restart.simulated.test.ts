import { afterEach, describe, expect, it } from "vitest";
import type { ContainerOutcomeKind } from "../../src/rollout/container-outcome.js";
import { restartContainer, revertContainer } from "../../src/rollout/container-restart.js";
import { type SimulatedBehaviour, simulatedTargets } from "../helpers/simulated-containers.js";
import { simulatedRollout, type SimulatedRollout } from "../helpers/simulated-rollout.js";

/**
 * One container's restart and rollback over simulated containers (a simulation, not LXC; the real thing is
 * test/rollout/engine-*.lxc.test.ts), table by table: what the engine did to the container, in order, how
 * it ended, and what the journal says of each step.
 */
describe("restart and revert of one container (simulated driver)", () => {
  let sim: SimulatedRollout | undefined;
  afterEach(() => sim?.cleanup());
  const setup = (behaviour: SimulatedBehaviour) => {
    sim = simulatedRollout({ containers: { c1: behaviour }, batches: [["c1"]] });
    const deps = { ...sim.driver.restartDeps(), journal: sim.journal, policy: sim.policy };
    return { sim, deps, target: simulatedTargets(["c1"]).get("c1")! };
  };
  /** `step.end` lines of c1's steps, each ok unless marked with "!". */
  const ends = (...names: string[]) => names.map((n) => (n.startsWith("!") ? `step.end c1 ${n.slice(1)} ok=false` : `step.end c1 ${n} ok=true`));
  const steps = (s: SimulatedRollout) => s.story().filter((l) => l.startsWith("step.end") || l.startsWith("container.done"));

  const RESTART_THEN_ROLLBACK = ["stop", "snapshot", "start", "stop", "restore", "pin", "start"];
  const restarts: { name: string; behaviour: SimulatedBehaviour; outcome: ContainerOutcomeKind; calls: string[]; journal: string[]; reason: RegExp }[] = [
    {
      name: "a container that takes the patch is patched and verified",
      behaviour: {},
      outcome: "patched",
      calls: ["stop", "snapshot", "start", "verify"],
      journal: [...ends("stop", "snapshot", "start", "health", "verify"), "container.done c1 patched"],
      reason: /^no process maps an outdated file/,
    },
    {
      name: "a container the patch breaks is unhealthy (journaled ok=false), rolled back and healthy again",
      behaviour: { brokenByPatch: true },
      outcome: "rolled-back",
      calls: RESTART_THEN_ROLLBACK,
      journal: [...ends("stop", "snapshot", "start", "!health", "rollback.stop", "rollback.restore", "rollback.pin", "rollback.start", "rollback.health"), "container.done c1 rolled-back"],
      reason: /^health check command simulated-health exited with status 1 once in a row after restart; delta restored, pinned to the old package files, healthy again$/,
    },
    {
      name: "a container that never answers is rolled back and still unhealthy: rollback-failed",
      behaviour: { neverHealthy: true },
      outcome: "rollback-failed",
      calls: RESTART_THEN_ROLLBACK,
      journal: [...ends("stop", "snapshot", "start", "!health", "rollback.stop", "rollback.restore", "rollback.pin", "rollback.start", "!rollback.health"), "container.done c1 rollback-failed"],
      reason: /but still unhealthy: health check command simulated-health exited with status 1/,
    },
    {
      name: "a healthy container that still maps outdated files is unverified, not rolled back",
      behaviour: { staysStale: true },
      outcome: "unverified",
      calls: ["stop", "snapshot", "start", "verify"],
      journal: [...ends("stop", "snapshot", "start", "health", "verify"), "container.done c1 unverified"],
      reason: /^healthy, but still maps outdated files/,
    },
    {
      name: "a failed snapshot leaves the delta as it was: started again, skipped",
      behaviour: { snapshotFails: "no space left for the snapshot" },
      outcome: "skipped",
      calls: ["stop", "snapshot", "start"],
      journal: [...ends("stop", "!snapshot", "start"), "container.done c1 skipped"],
      reason: /^not patched: no space left for the snapshot; started again with its delta unchanged/,
    },
    {
      name: "a start that fails is rolled back; when the start after the rollback fails too: rollback-failed",
      behaviour: { startFails: "lxc-start: no cgroup" },
      outcome: "rollback-failed",
      calls: RESTART_THEN_ROLLBACK,
      journal: [...ends("stop", "snapshot", "!start", "rollback.stop", "rollback.restore", "rollback.pin", "!rollback.start"), "container.done c1 rollback-failed"],
      reason: /^lxc-start: no cgroup; rollback could not start it again: lxc-start: no cgroup$/,
    },
  ];

  it.each(restarts)("$name", async (row) => {
    const { sim, deps, target } = setup(row.behaviour);
    const out = await restartContainer(target, deps);
    expect(out.outcome).toBe(row.outcome);
    expect(out.reason).toMatch(row.reason);
    expect(sim.driver.callsOf("c1")).toEqual(row.calls);
    expect(steps(sim)).toEqual(row.journal);
  });

  it("journals what the health check found when it failed: ok=false, healthy=false and the reason", async () => {
    const { sim, deps, target } = setup({ brokenByPatch: true });
    await restartContainer(target, deps);
    const health = sim.entries().find((e) => e.type === "step.end" && e.data["step"] === "health")!;
    expect(health.data).toMatchObject({ ok: false, healthy: false, reason: "health check command simulated-health exited with status 1 once in a row after restart", rounds: 1 });
    expect(health.data["last"]).toMatchObject([{ ok: false, exitCode: 1, failure: "exited with status 1" }]);
  });

  it("reverts a patched container to its snapshot: stop, restore, pin, start, healthy on the old files", async () => {
    const { sim, deps, target } = setup({ brokenByPatch: true });
    const out = await revertContainer(target, "snap-c1", "rollout aborted by carol: bad news", deps);
    expect(out).toEqual({ container: "c1", outcome: "rolled-back", reason: "rollout aborted by carol: bad news; delta restored, pinned to the old package files, healthy again" });
    expect(sim.driver.calls).toEqual(["stop c1", "restore c1 snap-c1", "pin c1", "start c1"]);
    expect(sim.story()[0]).toBe("rollback.begin c1");
  });
});
