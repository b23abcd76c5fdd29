import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Candidate, planRollout, spreadGroups } from "../../src/rollout/plan.js";

const c = (name: string, over: Partial<Candidate> = {}): Candidate => ({ name, group: "web", canary: false, verdict: "stale", mapsPackages: true, ...over });
const policy = { batches: [1, "100%"] as (number | string)[], select: "stale" as const };

describe("planRollout", () => {
  it("restarts stale containers and says why the others are left alone", () => {
    const plan = planRollout(
      [c("a"), c("b", { verdict: "shadowed" }), c("c", { verdict: "pinned" }), c("d", { verdict: "stopped" }), c("e", { verdict: "patched" }), c("f", { unmanagedReason: "not overlay" })],
      policy,
    );
    expect(plan.affected.map((p) => p.name)).toEqual(["a"]);
    expect(Object.fromEntries(plan.excluded.map((e) => [e.name, e.reason.split(":")[0]]))).toEqual({ b: "shadowed", c: "pinned", d: "stopped", e: "patched", f: "unmanaged" });
  });

  it("puts declared canaries first, then containers that map the changed files", () => {
    const plan = planRollout([c("a", { verdict: "patched", mapsPackages: false }), c("b"), c("z", { canary: true })], { ...policy, select: "all" });
    expect(plan.batches).toEqual([["z"], ["b", "a"]]);
  });

  it("never puts every replica of a group in one batch", () => {
    const plan = planRollout([c("a1", { group: "a" }), c("a2", { group: "a" }), c("b1", { group: "b" }), c("b2", { group: "b" })], { ...policy, batches: [2, "100%"] });
    for (const batch of plan.batches) {
      const groups = batch.map((n) => n[0]);
      expect(new Set(groups).size).toBe(groups.length);
    }
  });

  it("keeps every affected container exactly once whatever the groups (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("a", "b", "c"), fc.boolean()), { maxLength: 40 }), fc.integer({ min: 1, max: 5 }), (specs, first) => {
        const cands = specs.map(([g, canary], i) => c(`n${i}`, { group: g, canary }));
        const plan = planRollout(cands, { batches: [first, "50%", "100%"], select: "stale" });
        expect(plan.batches.flat().sort()).toEqual(cands.map((x) => x.name).sort());
      }),
    );
  });
});

describe("spreadGroups", () => {
  it("moves a replica to the next batch when a batch would take the whole group", () => {
    const out = spreadGroups([[{ group: "x", n: 1 }, { group: "x", n: 2 }], [{ group: "y", n: 3 }]]);
    expect(out[0]!.map((t) => t.group).sort()).toEqual(["x", "y"]);
  });
});
