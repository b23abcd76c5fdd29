import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { HealthCheck } from "../../src/config/schema.js";
import type { ContainerDriver, ContainerState } from "../../src/containers/driver.js";
import { awaitHealth, FIRST_PAUSE_MS, type HealthPolicy } from "../../src/rollout/health-gate.js";

/**
 * The health gate's decision loop, driven by a scripted driver (a simulation: no container) and real
 * checks of this process: which rounds it runs, the pauses it asks for between them, and its verdict.
 */
const ME = readFileSync(`/proc/${process.pid}/comm`, "utf8").trim();

interface Script {
  /** Round (from 1) from which the service is up (a process check finds it); never when undefined. */
  upFrom?: number;
  /** Exit status of a command check, every round (a service that answers, and says no). */
  exitCode?: number;
  /** State the driver reports from this round on (RUNNING before). */
  stoppedFrom?: number;
}

async function gate(script: Script, policy: Partial<HealthPolicy>) {
  let round = 0;
  const pauses: number[] = [];
  const driver: Pick<ContainerDriver, "pids" | "state" | "attach"> = {
    pids: async () => {
      round += 1;
      return script.upFrom !== undefined && round >= script.upFrom ? [process.pid] : [];
    },
    state: async (): Promise<ContainerState> => (script.stoppedFrom !== undefined && round >= script.stoppedFrom ? "STOPPED" : "RUNNING"),
    attach: async () => {
      round += 1;
      return { exitCode: script.exitCode ?? 0, stdout: "", stderr: "" };
    },
  };
  const check: HealthCheck = script.exitCode !== undefined ? { type: "command", argv: ["check"], timeoutMs: 1000 } : { type: "process", comm: ME };
  const verdict = await awaitHealth([check], { healthyAfter: 2, unhealthyAfter: 3, healthIntervalMs: 200, healthTimeoutMs: 600_000, ...policy }, {
    container: "c1",
    driver: driver as ContainerDriver,
    sleep: async (ms) => {
      pauses.push(ms);
    },
  });
  return { verdict, pauses, rounds: verdict.rounds.length };
}

describe("health gate (simulated driver)", () => {
  it("checks a service that has not answered yet at doubling pauses, then at the configured interval", async () => {
    const { verdict, pauses, rounds } = await gate({ upFrom: 6 }, { healthIntervalMs: 200 });
    expect(verdict.healthy).toBe(true);
    expect(rounds).toBe(7);
    expect(pauses).toEqual([FIRST_PAUSE_MS, 4, 8, 16, 32, 200]);
  });

  it("never pauses longer than the configured interval", async () => {
    const { pauses } = await gate({ upFrom: 7 }, { healthIntervalMs: 10, healthyAfter: 1 });
    expect(pauses).toEqual([2, 4, 8, 10, 10, 10]);
  });

  it("is healthy at once when the first rounds pass", async () => {
    const { verdict, pauses } = await gate({ upFrom: 1 }, { healthyAfter: 1 });
    expect(verdict).toMatchObject({ healthy: true });
    expect(pauses).toEqual([]);
  });

  it("a service that answers and says no is checked at the interval, and fails after unhealthyAfter rounds", async () => {
    const { verdict, pauses, rounds } = await gate({ exitCode: 1 }, { healthIntervalMs: 150 });
    expect(verdict.healthy).toBe(false);
    expect(verdict.reason).toMatch(/three times in a row after restart/);
    expect(rounds).toBe(3);
    expect(pauses).toEqual([150, 150]);
  });

  it("a container that stops while its service starts is unhealthy at the round that sees it", async () => {
    const { verdict, rounds } = await gate({ stoppedFrom: 3 }, {});
    expect(verdict.healthy).toBe(false);
    expect(verdict.reason).toMatch(/stopped right after start \(state STOPPED\)/);
    expect(rounds).toBe(3);
  });
});
