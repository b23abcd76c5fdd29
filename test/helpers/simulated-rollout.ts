import { mkdtempSync, rmSync } from "node:fs";
import type { Config } from "../../src/config/schema.js";
import type { AptEvent } from "../../src/intake/apt-event.js";
import type { JournalEntry } from "../../src/journal/entry.js";
import { RolloutJournal } from "../../src/journal/journal.js";
import type { RestartDeps } from "../../src/rollout/container-restart.js";
import type { Plan } from "../../src/rollout/plan.js";
import { resumeOptions, journalState } from "../../src/rollout/resume.js";
import { type RolloutProgress, type RunRolloutOptions, runRollout } from "../../src/rollout/run-rollout.js";
import { type SimulatedBehaviour, SimulatedContainerDriver, simulatedTargets } from "./simulated-containers.js";

/** Rollout settings for simulated runs: one health round decides, no waiting between rounds. */
export function simulatedPolicy(overrides: Partial<Config["rollout"]> = {}): Config["rollout"] {
  return {
    batches: [1, "100%"], select: "all", healthyAfter: 1, unhealthyAfter: 1, healthIntervalMs: 1, healthTimeoutMs: 1000,
    bakeMs: 0, maxParallel: 1, maxFailures: 0, ignorePackages: [], approveAfter: [], windows: [], groups: {},
    ...overrides,
  };
}

/** The apt run every simulated rollout patches: one library upgraded. */
export const SIMULATED_EVENT: AptEvent = {
  v: 1, id: "simulated-run", host: "sim", time: "2026-12-03T00:00:00.000Z", origin: "security", sources: ["manual"],
  packages: [{ name: "libsim", arch: "amd64", from: "1.0", to: "1.1", action: "upgrade" }],
};

/** A plan of the given batches, every container selected. */
export function simulatedPlan(batches: readonly (readonly string[])[]): Plan {
  return {
    select: "all",
    affected: batches.flat().map((name, i) => ({ name, group: "default", canary: i === 0, reason: "simulated" })),
    excluded: [],
    batches: batches.map((b) => [...b]),
  };
}

/** A rollout of simulated containers with a real journal in a scratch directory (the engine's own record). */
export interface SimulatedRollout {
  driver: SimulatedContainerDriver;
  journal: RolloutJournal;
  plan: Plan;
  policy: Config["rollout"];
  /** Runs the plan from the start, or from what the journal says (resume, retry), as the rollout worker does. */
  run(extra?: Partial<RunRolloutOptions>, deps?: Partial<Omit<RestartDeps, "journal" | "policy">>): Promise<RolloutProgress>;
  resume(extra?: Partial<RunRolloutOptions>): Promise<RolloutProgress>;
  entries(): JournalEntry[];
  /** The journal in short lines: `type`, with the batch, container, step, ok and outcome when present. */
  story(): string[];
  cleanup(): void;
}

/**
 * Sets up a simulated rollout (see SimulatedContainerDriver: a simulation, not LXC): the containers with
 * their behaviours, the plan's batches, and the rollout settings.
 */
export function simulatedRollout(o: {
  containers: Record<string, SimulatedBehaviour>;
  batches: readonly (readonly string[])[];
  policy?: Partial<Config["rollout"]>;
  /** Where the journal goes (a test's own config); default a scratch directory, host `sim`. */
  journal?: { dir: string; host: string; rollout: string };
}): SimulatedRollout {
  const scratch = o.journal === undefined ? mkdtempSync("/var/tmp/patchroll-test-sim-") : undefined;
  const where = o.journal ?? { dir: scratch!, host: "sim", rollout: "20261203T000000Z-51a1a7ed" };
  const driver = new SimulatedContainerDriver(o.containers);
  const journal = new RolloutJournal(where.dir, where.host, where.rollout);
  const plan = simulatedPlan(o.batches);
  const policy = simulatedPolicy(o.policy);
  const targets = simulatedTargets(Object.keys(o.containers));
  const base = (deps: Partial<Omit<RestartDeps, "journal" | "policy">> = {}) => ({ plan, targets, policy, journal, deps: { ...driver.restartDeps(), ...deps } });
  const sim: SimulatedRollout = {
    driver,
    journal,
    plan,
    policy,
    run: (extra = {}, deps = {}) => {
      journal.append("rollout.planned", { event: SIMULATED_EVENT, plan });
      return runRollout({ ...base(deps), ...extra });
    },
    resume: (extra = {}) => {
      const state = journalState(journal.entries());
      journal.append("rollout.resumed", { finished: [...state.finished.keys()], inFlight: state.inFlight });
      return runRollout({ ...base(), ...resumeOptions(state), ...extra });
    },
    entries: () => journal.entries(),
    story: () =>
      journal.entries().map((e) => {
        const d = e.data;
        const parts = [e.type, d["batch"] !== undefined ? `#${String(d["batch"])}` : "", e.container ?? "", typeof d["step"] === "string" ? d["step"] : "", typeof d["ok"] === "boolean" ? `ok=${String(d["ok"])}` : "", typeof d["outcome"] === "string" ? d["outcome"] : ""];
        return parts.filter((p) => p !== "").join(" ");
      }),
    cleanup: () => {
      journal.close();
      if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
    },
  };
  return sim;
}
