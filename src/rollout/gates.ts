import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { type ControlState, controlsKey, readControls } from "./controls.js";
import type { MaintenanceWindows } from "./windows.js";

export type GateDecision = { go: true } | { go: false; abort: NonNullable<ControlState["aborted"]> };

/** Why a rollout is not moving, for the journal, `rollouts show` and the dashboard. */
export interface Wait {
  status: "paused" | "waiting";
  reason: string;
  /** True when a human must approve (people are told, not only the journal). */
  approval?: boolean;
}

/** Where a rollout asks whether it may go on: before each batch and before each container. */
export interface RolloutGate {
  beforeBatch(batch: number, onWait: (w: Wait) => Promise<void>): Promise<GateDecision>;
  beforeContainer(onWait: (w: Wait) => Promise<void>): Promise<GateDecision>;
  /**
   * Right before a container is stopped, after its pre-copy (which may take minutes): the fleet checks its
   * slot there. It may wait (the container keeps running) or throw RolloutReleased; it stops nothing.
   */
  beforeStop?(onWait: (w: Wait) => Promise<void>): Promise<void>;
  /**
   * Before an aborted rollout takes its patched containers back (stop, restore, start): the fleet holds a
   * slot there, waiting for one as a batch would.
   */
  beforeRollback?(onWait: (w: Wait) => Promise<void>): Promise<void>;
}

/** A gate that never stops anything (tests of the runner alone, simulations). */
export const OPEN_GATE: RolloutGate = { beforeBatch: async () => ({ go: true }), beforeContainer: async () => ({ go: true }) };

export interface ControlGateOptions {
  redis: Redis;
  config: Pick<Config, "hostId" | "redis">;
  rolloutId: string;
  windows: MaintenanceWindows;
  /** Batches after which a human approves the next one (`rollout.approveAfter`). */
  approveAfter: readonly number[];
  pollMs?: number;
  now?: () => Date;
  /**
   * Called after each read of the controls and before they are acted on: the runner journals the
   * operators' pending controls there, so each `control.*` entry comes before what it caused.
   */
  onControls?: () => Promise<void>;
  /** Aborted when the worker shuts down: the gate then releases the rollout (see RolloutReleased). */
  signal?: AbortSignal;
}

/**
 * Thrown at a step boundary when the worker is shutting down: the rollout stops where it is (no container
 * is left half-restarted) and is picked up again, from its journal, by the next worker.
 */
export class RolloutReleased extends Error {
  override readonly name = "RolloutReleased";
}

/**
 * The operator's controls (pause, abort, approve: src/rollout/controls.ts), the approval gates and the
 * maintenance windows, checked at every step boundary. While it must wait it says why, once per reason,
 * and looks again every `pollMs` (default 500).
 */
export function controlGate(o: ControlGateOptions): RolloutGate {
  const pollMs = o.pollMs ?? 500;
  const now = o.now ?? (() => new Date());
  const wait = async (check: () => Promise<Wait | GateDecision>, onWait: (w: Wait) => Promise<void>): Promise<GateDecision> => {
    let last = "";
    for (;;) {
      if (o.signal?.aborted === true) throw new RolloutReleased(`released: ${String(o.signal.reason ?? "the worker is stopping")}`);
      const r = await check();
      if ("go" in r) return r;
      if (r.reason !== last) await onWait(r);
      last = r.reason;
      await sleep(pollMs);
    }
  };
  const common = (c: ControlState): Wait | GateDecision | undefined => {
    if (c.aborted !== undefined) return { go: false, abort: c.aborted };
    if (c.paused !== undefined) return { status: "paused", reason: `paused by ${c.paused.who}: ${c.paused.why} (patchroll rollouts resume ${o.rolloutId})` };
    return undefined;
  };
  const read = async (): Promise<ControlState> => {
    const c = await readControls(o.redis, o.config, o.rolloutId);
    await o.onControls?.();
    return c;
  };
  return {
    beforeContainer: (onWait) => wait(async () => common(await read()) ?? { go: true }, onWait),
    beforeBatch: (batch, onWait) =>
      wait(async () => {
        const c = await read();
        const stop = common(c);
        if (stop !== undefined) return stop;
        if (o.approveAfter.includes(batch - 1) && !(await approved(o, c, batch))) {
          return { status: "waiting", approval: true, reason: `batch ${batch} needs approval after batch ${batch - 1}: patchroll rollouts approve ${o.rolloutId} --why "..."` };
        }
        if (!o.windows.isOpen(now())) {
          const next = o.windows.nextOpening(now());
          return { status: "waiting", reason: `outside the maintenance windows (${o.windows.expressions.join("; ")}); the next opens ${next?.toISOString() ?? "not within 31 days"}` };
        }
        return { go: true };
      }, onWait),
  };
}

/** An approval for this batch, or an open one ("the batch waiting now"), which is then bound to it. */
async function approved(o: ControlGateOptions, c: ControlState, batch: number): Promise<boolean> {
  if (c.approved.includes(batch)) return true;
  if (!c.approved.includes(0)) return false;
  const key = controlsKey(o.config, o.rolloutId);
  const grant = await o.redis.hget(key, "approved:0");
  await o.redis.multi().hset(key, `approved:${batch}`, grant ?? "{}").hdel(key, "approved:0").exec();
  return true;
}
