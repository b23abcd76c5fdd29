import type { Redis } from "ioredis";
import { expect } from "vitest";
import { readJournal } from "../../src/journal/journal.js";
import { journalFile } from "../../src/journal/paths.js";
import { verifyJournal } from "../../src/journal/verify.js";
import { RolloutStore } from "../../src/rollout/rollout-store.js";
import type { RolloutHarness } from "../helpers/rollout-harness.js";

/**
 * What every Redis failure test asks of the rollout it disturbed: one rollout, completed; every container
 * running and patched; the journal verifies; each container stopped once (never restarted twice) and
 * started again right after its own stop (never held down while Redis was away). `redis` reads the state
 * (default: the harness' connection).
 */
export async function expectCleanRollout(h: RolloutHarness, id: string, redis: Redis = h.redis): Promise<void> {
  const state = await new RolloutStore(redis, h.env.config).get(id);
  expect(state?.status).toBe("completed");
  expect(state?.outcomes?.map((o) => o.outcome)).toEqual(h.containers.map(() => "patched"));
  const read = readJournal(journalFile(h.env.config, id));
  const check = verifyJournal(read, { host: h.env.config.hostId, rollout: id });
  expect(check.problems).toEqual([]);
  expect(check.sequenceGaps).toEqual([]);
  expect(check.finished).toBe("completed");
  const types = read.entries.map((e) => e.type);
  expect(types.filter((t) => t === "rollout.planned")).toHaveLength(1);
  expect(types.filter((t) => t === "rollout.completed")).toHaveLength(1);
  for (const c of h.containers) {
    expect((await c.info()).state, c.name).toBe("RUNNING");
    const steps = read.entries.filter((e) => e.type === "step.begin" && e.container === c.name).map((e) => String(e.data["step"]));
    expect(steps.filter((s) => s === "stop"), `${c.name} stopped once`).toHaveLength(1);
    expect(steps.filter((s) => s === "start"), `${c.name} started once`).toHaveLength(1);
    // Down for one restart: its start follows its stop with only the snapshot between them.
    expect(steps.slice(steps.indexOf("stop"), steps.indexOf("start") + 1)).toEqual(["stop", "snapshot", "start"]);
    expect((await fetch(c.healthUrl)).status).toBe(200);
  }
}

/** doctor's words for a server certificate signed by a CA other than redis.tls.caFile. */
export const OTHER_CA_WORDS = /not signed by the CA patchroll trusts \(redis\.tls\.caFile .*other-ca\.crt\)|signed by a CA patchroll does not have/;

/**
 * For each case (a `redis.tls` setting and the words expected), `check` (doctor's findings with that setting)
 * gives exactly one problem, in those words, starting with `where` (which Redis refused TLS).
 */
export async function expectTlsProblems(check: (tls: Record<string, unknown>) => Promise<{ problem: string }[]>, cases: [Record<string, unknown>, RegExp][], where: RegExp): Promise<void> {
  for (const [tls, words] of cases) {
    const findings = await check(tls);
    expect(findings.map((f) => f.problem), JSON.stringify(tls)).toEqual([expect.stringMatching(words)]);
    expect(findings[0]!.problem).toMatch(where);
  }
}
