import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import type { ContainerDriver, ContainerState } from "../../src/containers/driver.js";
import type { RolloutJournal } from "../../src/journal/journal.js";
import { silentLogger } from "../../src/log/logger.js";
import { type RestartDeps, restartContainer } from "../../src/rollout/container-restart.js";

/** A world of one container that records what was done to it, in order. */
function world(opts: { precopyFails?: boolean } = {}): { deps: RestartDeps; calls: string[]; state: () => ContainerState } {
  const calls: string[] = [];
  let state: ContainerState = "RUNNING";
  const driver: ContainerDriver = {
    runtime: "fake",
    start: async () => {
      calls.push("start");
      state = "RUNNING";
    },
    stop: async () => {
      calls.push("stop");
      state = "STOPPED";
    },
    state: async () => state,
    initPid: async () => (state === "RUNNING" ? 1 : undefined),
    pids: async () => (state === "RUNNING" ? [1] : []),
    attach: async () => ({ exitCode: 0, stdout: "", stderr: "" }),
  };
  const journal = { write: () => undefined, flush: async () => undefined } as unknown as RolloutJournal;
  const deps: RestartDeps = {
    driver,
    journal,
    policy: loadConfig({ env: {} }).config.rollout,
    stopTimeoutSec: 5,
    logger: silentLogger(),
    precopy: async () => {
      calls.push(`precopy while ${state}`);
      if (opts.precopyFails === true) throw new Error("pre-copy of /d refused: not enough space");
      return { precopied: true };
    },
    snapshot: async () => {
      calls.push(`snapshot while ${state}`);
      return "r1";
    },
    restore: async () => {
      calls.push("restore");
    },
    pin: async () => ({ pinned: false, detail: "-" }),
    verify: async () => ({ ok: true, detail: "current" }),
  };
  return { deps, calls, state: () => state };
}

const target = { name: "c1", group: "a", deltaDir: "/d", health: [] };

describe("restartContainer with a pre-copy", () => {
  it("copies while the container runs, then stops it, snapshots (the catch-up) and starts it", async () => {
    const w = world();
    const outcome = await restartContainer(target, w.deps);
    expect(outcome).toMatchObject({ outcome: "patched", snapshot: "r1" });
    expect(w.calls).toEqual(["precopy while RUNNING", "stop", "snapshot while STOPPED", "start"]);
  });

  it("never stops a container whose pre-copy failed, and counts it as not patched", async () => {
    const w = world({ precopyFails: true });
    const outcome = await restartContainer(target, w.deps);
    expect(outcome).toMatchObject({ outcome: "skipped", reason: expect.stringContaining("not enough space") });
    expect(w.calls).toEqual(["precopy while RUNNING"]);
    expect(w.state()).toBe("RUNNING");
  });
});
