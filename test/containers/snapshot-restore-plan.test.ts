import { describe, expect, it } from "vitest";
import { isSnapshotId } from "../../src/containers/snapshot-id.js";
import { leftoversFromNames, planRestoreRecovery, restorePaths, type RecoveryAction, type RestoreLeftover } from "../../src/containers/snapshot-restore-plan.js";

type Kind = "partial" | "ready" | "aside";
const KINDS: Kind[] = ["partial", "ready", "aside"];

/** Every state two interrupted restores (ids A and B) can leave, with and without a delta in place. */
function allStates(): Array<{ deltaExists: boolean; leftovers: RestoreLeftover[] }> {
  const states: Array<{ deltaExists: boolean; leftovers: RestoreLeftover[] }> = [];
  for (let bits = 0; bits < 1 << 7; bits += 1) {
    const leftovers: RestoreLeftover[] = [];
    ["A", "B"].forEach((id, i) => {
      const l = { id, partial: (bits >> (i * 3)) & 1 ? true : false, ready: (bits >> (i * 3 + 1)) & 1 ? true : false, aside: (bits >> (i * 3 + 2)) & 1 ? true : false };
      if (l.partial || l.ready || l.aside) leftovers.push(l);
    });
    states.push({ deltaExists: (bits & 64) !== 0, leftovers });
  }
  return states;
}

/** Applies a plan to a model of the directory, checking each step against the safety rules. */
function apply(state: { deltaExists: boolean; leftovers: RestoreLeftover[] }, actions: RecoveryAction[]): { deltaExists: boolean; names: Set<string> } {
  const names = new Set(state.leftovers.flatMap((l) => KINDS.filter((k) => l[k]).map((k) => `${k}:${l.id}`)));
  let delta = state.deltaExists;
  for (const a of actions) {
    const name = `${a.what}:${a.id}`;
    expect(names.has(name), `${a.op} of missing ${name}`).toBe(true);
    if (a.op === "move-in") {
      expect(delta, "move-in over an existing delta").toBe(false);
      delta = true;
    } else if (a.what === "aside") {
      expect(delta, `old delta ${a.id} removed while no delta is in place`).toBe(true);
      expect(names.has(`ready:${a.id}`), `old delta ${a.id} removed before its restored copy went in`).toBe(false);
    }
    names.delete(name);
  }
  return { deltaExists: delta, names };
}

describe("planRestoreRecovery", () => {
  it.each([undefined, "A"])("keeps every delta safe in all 128 states (keepReadyFor=%s)", (keep) => {
    for (const state of allStates()) {
      const plan = planRestoreRecovery({ ...state, keepReadyFor: keep });
      const asides = state.leftovers.filter((l) => l.aside);
      if (!plan.ok) {
        const impossible = (state.deltaExists && state.leftovers.some((l) => l.ready && l.aside)) || (!state.deltaExists && asides.length > 1);
        expect(impossible, JSON.stringify(state)).toBe(true);
        continue;
      }
      const after = apply(state, plan.actions);
      expect([...after.names].some((n) => n.startsWith("partial:"))).toBe(false);
      if (asides.length > 0) expect(after.deltaExists).toBe(true);
      for (const n of after.names) {
        // What survives: only the complete copy kept for the restore about to run.
        expect(n).toBe(`ready:${keep}`);
      }
      // Running recovery again finds nothing more to do.
      const leftovers = [...after.names].map((n) => ({ id: n.split(":")[1] ?? "", partial: false, ready: true, aside: false }));
      expect(planRestoreRecovery({ deltaExists: after.deltaExists, leftovers, keepReadyFor: keep })).toEqual({ ok: true, actions: [] });
    }
  });

  it("moves the restored copy in when the crash came between the two renames", () => {
    const plan = planRestoreRecovery({ deltaExists: false, leftovers: [{ id: "A", partial: false, ready: true, aside: true }] });
    expect(plan).toEqual({ ok: true, actions: [{ op: "move-in", what: "ready", id: "A" }, { op: "remove", what: "aside", id: "A" }] });
  });

  it("puts the old delta back when its restored copy is missing", () => {
    const plan = planRestoreRecovery({ deltaExists: false, leftovers: [{ id: "A", partial: true, ready: false, aside: true }] });
    expect(plan).toEqual({ ok: true, actions: [{ op: "remove", what: "partial", id: "A" }, { op: "move-in", what: "aside", id: "A" }] });
  });

  it("refuses to guess when something recreated the delta mid-restore", () => {
    const plan = planRestoreRecovery({ deltaExists: true, leftovers: [{ id: "A", partial: false, ready: true, aside: true }] });
    expect(plan.ok).toBe(false);
  });
});

describe("leftoversFromNames", () => {
  it("groups a delta's sibling names by restore id and ignores everything else", () => {
    const p = restorePaths("/c/delta0", "20261123T061500Z-r1");
    const names = [p.partial, p.ready, p.aside].map((x) => x.slice("/c/".length));
    const found = leftoversFromNames("delta0", [...names, "delta0", "work", "delta01.restore-x", "delta0.restore-../x", "snapshots"], isSnapshotId);
    expect(found).toEqual([{ id: "20261123T061500Z-r1", partial: true, ready: true, aside: true }]);
  });
});
