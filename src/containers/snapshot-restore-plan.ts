/**
 * Pure decisions for finishing a restore that was interrupted (crash, kill -9, power cut).
 *
 * A restore of snapshot X into DELTA moves through these names beside DELTA, each step a rename
 * followed by an fsync of the parent dir:
 *   1. copy the snapshot into `DELTA.restoring-X` (partial until cp exits and the fs is synced);
 *   2. rename it to `DELTA.restore-X` (a complete copy of the snapshot);
 *   3. rename DELTA to `DELTA.pre-restore-X` (the old delta, set aside);
 *   4. rename `DELTA.restore-X` to DELTA (restored);
 *   5. remove `DELTA.pre-restore-X`.
 * Between 3 and 4 no DELTA exists: rename(2) cannot swap two dirs and renameat2(RENAME_EXCHANGE) is not
 * reachable from Node; this plan then moves the complete copy in.
 */

/** Which of the names of one restore id exist beside the delta. */
export interface RestoreLeftover {
  id: string;
  /** `DELTA.restoring-ID`: an incomplete copy of a snapshot. */
  partial: boolean;
  /** `DELTA.restore-ID`: a complete copy of a snapshot, not yet in place. */
  ready: boolean;
  /** `DELTA.pre-restore-ID`: the delta that was in place before restore ID. */
  aside: boolean;
}

export type RecoveryAction =
  | { op: "remove"; what: "partial" | "ready" | "aside"; id: string }
  /** rename the named leftover to DELTA. */
  | { op: "move-in"; what: "ready" | "aside"; id: string };

export type RecoveryPlan = { ok: true; actions: RecoveryAction[] } | { ok: false; conflict: string };

/**
 * What to do with the leftovers of interrupted restores. Guarantees (tested exhaustively):
 * DELTA itself is never removed; a set-aside delta is removed only once a DELTA exists and no copy of
 * that restore is still waiting (so DELTA is that restore's result); when no DELTA exists but a set-aside
 * one does, a DELTA exists afterwards; incomplete copies are always removed. `keepReadyFor` keeps a
 * complete copy for the restore about to run, which then needs no second copy. States our own steps
 * never produce (something else recreated DELTA mid-restore) are conflicts: nothing is touched.
 */
export function planRestoreRecovery(state: { deltaExists: boolean; leftovers: readonly RestoreLeftover[]; keepReadyFor?: string | undefined }): RecoveryPlan {
  const left = state.leftovers.map((l) => ({ ...l }));
  const actions: RecoveryAction[] = left.filter((l) => l.partial).map((l) => ({ op: "remove", what: "partial", id: l.id }));
  let deltaExists = state.deltaExists;

  if (!deltaExists) {
    const asides = left.filter((l) => l.aside);
    if (asides.length > 1) {
      return { ok: false, conflict: `no delta in place and ${asides.length} set-aside deltas (${asides.map((l) => l.id).join(", ")}): choose one by hand` };
    }
    const halfway = asides.find((l) => l.ready);
    if (halfway !== undefined) {
      // Crash between steps 3 and 4: the complete copy goes in; the old delta is removed below.
      actions.push({ op: "move-in", what: "ready", id: halfway.id });
      halfway.ready = false;
      deltaExists = true;
    } else if (asides[0] !== undefined) {
      // A set-aside delta without its copy: our steps never leave this; put the old delta back.
      actions.push({ op: "move-in", what: "aside", id: asides[0].id });
      asides[0].aside = false;
      deltaExists = true;
    }
  }

  for (const l of left) {
    if (l.ready && l.aside) {
      return { ok: false, conflict: `a delta is in place, but restore ${l.id} was interrupted with both the old delta and the restored copy beside it: something recreated the delta mid-restore; compare them by hand` };
    }
    if (l.aside) actions.push({ op: "remove", what: "aside", id: l.id });
    else if (l.ready && l.id !== state.keepReadyFor) actions.push({ op: "remove", what: "ready", id: l.id });
  }
  return { ok: true, actions };
}

/** The names a restore uses beside `deltaDir` (see the module comment). */
export function restorePaths(deltaDir: string, id: string): { partial: string; ready: string; aside: string } {
  return { partial: `${deltaDir}.restoring-${id}`, ready: `${deltaDir}.restore-${id}`, aside: `${deltaDir}.pre-restore-${id}` };
}

/** Groups sibling names of the delta (`base` = its last path component) by restore id. */
export function leftoversFromNames(base: string, names: readonly string[], isId: (id: string) => boolean): RestoreLeftover[] {
  const byId = new Map<string, RestoreLeftover>();
  const kinds = [
    [`${base}.restoring-`, "partial"],
    [`${base}.restore-`, "ready"],
    [`${base}.pre-restore-`, "aside"],
  ] as const;
  for (const name of names) {
    for (const [prefix, kind] of kinds) {
      if (!name.startsWith(prefix)) continue;
      const id = name.slice(prefix.length);
      if (!isId(id)) continue;
      const entry = byId.get(id) ?? { id, partial: false, ready: false, aside: false };
      entry[kind] = true;
      byId.set(id, entry);
    }
  }
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}
