import { afterEach, describe, expect, it } from "vitest";
import { buildReport } from "../../src/report/build-report.js";
import { renderRolloutReport } from "../../src/report/render.js";
import { simulatedRollout, type SimulatedRollout } from "../helpers/simulated-rollout.js";

/**
 * A failed health check is journaled ok=false with its verdict: the report says UNHEALTHY and why, as it
 * did when such steps were journaled ok=true, and keeps FAILED for a step that threw.
 */
describe("the report of an unhealthy health step (simulated driver)", () => {
  let sim: SimulatedRollout | undefined;
  afterEach(() => sim?.cleanup());

  it("tells an unhealthy container from a step that failed", async () => {
    sim = simulatedRollout({ containers: { c1: { brokenByPatch: true }, c2: { startFails: "lxc-start: no cgroup" } }, batches: [["c1", "c2"]], policy: { maxFailures: 2 } });
    await sim.run();
    const r = buildReport({ host: "sim", rollout: sim.journal.rollout, read: { entries: sim.entries(), problems: [] }, changelogCves: [] });
    const text = (container: string, step: string) => r.timeline.find((t) => t.container === container && t.step === step)?.text;
    expect(text("c1", "health")).toMatch(/^.*: UNHEALTHY \(.*\): health check command simulated-health exited with status 1 once in a row after restart$/);
    expect(text("c1", "rollback.health")).toMatch(/: healthy \(/);
    expect(text("c2", "start")).toMatch(/: FAILED \(.*\): lxc-start: no cgroup$/);
    const html = renderRolloutReport(r, "html");
    expect(html).toMatch(/c1: health UNHEALTHY \(/);
    expect(html).toMatch(/c2: start FAILED: lxc-start: no cgroup \(/);
    expect(r.containers.find((c) => c.name === "c1")?.steps.find((s) => s.step === "health")).toMatchObject({ ok: true, failed: true });
  });
});
