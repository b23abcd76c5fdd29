import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isFailure } from "../../src/rollout/container-outcome.js";
import type { TestContainer } from "../helpers/lxc.js";
import { freePort } from "../helpers/redis-server.js";
import { rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";

const BIN = new URL("../../bin/patchroll", import.meta.url).pathname;
const RESTART_STEPS = ["precopy", "stop", "snapshot", "start", "health", "verify"];
const ROLLBACK_STEPS = ["rollback.stop", "rollback.restore", "rollback.pin", "rollback.start", "rollback.health"];

/**
 * kill -9 of the daemon at every step boundary (a deliberate fault-injection point: the built daemon's
 * hidden --fault-kill-at flag), then a fresh daemon: the rollout resumes from its journal and ends in a
 * patched or rolled-back container, never a stopped one, and the delta is what it must be.
 */
describe("kill -9 of the daemon at each step boundary (real LXC, real Redis, built binary)", () => {
  let h: RolloutHarness;
  let configFile: string;
  const counts = new Map<string, number>();
  let failing = "";
  const health = createServer((req, res) => {
    const name = (req.url ?? "").split("/").pop() ?? "";
    const n = counts.get(name) ?? 0;
    counts.set(name, n + 1);
    // The failing container answers once, then fails three times in a row (a failed restart), then is
    // healthy again (after its rollback).
    const fail = name === failing && n >= 1 && n <= 3;
    res.writeHead(fail ? 503 : 200).end();
  });
  let healthPort = 0;

  beforeAll(async () => {
    healthPort = await freePort();
    await new Promise<void>((r) => health.listen(healthPort, "127.0.0.1", r));
    const check = (c: TestContainer) => [{ type: "http" as const, url: `http://127.0.0.1:${healthPort}/health/${c.name}`, expectStatus: 200, timeoutMs: 2000 }];
    h = await rolloutHarness("crash", [{ health: check }], { rollout: { batches: [1], healthIntervalMs: 50, healthyAfter: 2, unhealthyAfter: 3 } });
    configFile = join(h.env.root, "config.yaml");
    // JSON is YAML: the daemon reads the test's own configuration, with short locks so a dead worker's
    // rollout is taken over within seconds.
    writeFileSync(configFile, JSON.stringify({ ...h.env.config, log: { level: "warn" }, queue: { lockDurationMs: 2000, stalledIntervalMs: 1000, maxStalledCount: 100 } }));
  });
  afterAll(async () => {
    await h?.cleanup();
    health.close();
  });

  const daemon = (...extra: string[]) => execa(BIN, ["-c", configFile, "daemon", ...extra], { reject: false, all: true, env: { PATCHROLL_CONFIG: "" } });

  async function crashAndResume(step: string) {
    const [c] = h.containers;
    counts.clear();
    const health0 = await fetch(c!.healthUrl).then((r) => r.status);
    const id = await h.trigger();
    const killed = await daemon("--fault-kill-at", `${step}@${c!.name}`);
    expect(killed.signal, `daemon should have died at ${step}: ${killed.all}`).toBe("SIGKILL");
    const second = daemon();
    try {
      const done = await h.waitFor(id, ["completed", "halted", "aborted"], 60_000);
      const info = await c!.info();
      expect(info.state).toBe("RUNNING");
      expect(await fetch(c!.healthUrl).then((r) => r.status)).toBe(health0);
      const types = h.journal(id).map((e) => e.type);
      expect(types).toContain("rollout.resumed");
      return done;
    } finally {
      second.kill("SIGTERM");
      await second;
    }
  }

  it.each(RESTART_STEPS)("killed before %s: resumed, patched, running", async (step) => {
    failing = "";
    const done = await crashAndResume(step);
    expect(done.status).toBe("completed");
    expect(done.outcomes?.map((o) => o.outcome)).toEqual(["patched"]);
  });

  it.each(ROLLBACK_STEPS)("killed before %s of a failed restart: the rollback is finished, running", async (step) => {
    failing = h.containers[0]!.name;
    const done = await crashAndResume(step);
    expect(done.status).toBe("halted");
    expect(done.outcomes?.map((o) => o.outcome)).toEqual(["rolled-back"]);
    expect(done.outcomes!.filter(isFailure)).toHaveLength(1);
    // The rollback was finished, not the restart redone: one snapshot, one stop before it.
    const steps = h.journal(done.id).filter((e) => e.type === "step.begin").map((e) => e.data["step"]);
    expect(steps.filter((s) => s === "snapshot")).toHaveLength(1);
  });
});
