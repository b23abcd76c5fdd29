import { setTimeout as sleep } from "node:timers/promises";
import type { Config } from "../config/schema.js";
import type { RolloutJournal } from "../journal/journal.js";
import type { Logger } from "../log/logger.js";
import { resolveBatchSizes } from "../rollout/batches.js";
import { RolloutReleased, type Wait } from "../rollout/gates.js";
import type { LeaseStore } from "./lease-store.js";
import type { FleetRegistry } from "./registry.js";

/** The number of slots (pure): `fleet.maxHostsInFlight` over the registered hosts, at least 1. */
export function leaseLimit(spec: Config["fleet"]["maxHostsInFlight"], hosts: number): number {
  return resolveBatchSizes([spec], Math.max(1, hosts))[0] ?? 1;
}

/**
 * A rollout's fleet slot. Before each batch and each container it makes sure it holds one: it checks
 * that its lease still carries its fencing token (a lease lost to a failover, a partition or a long pause
 * is journaled, and no container restarts until a new slot is held), or waits for a free slot, saying
 * who holds them. While held, the lease is renewed every third of `fleet.leaseMs`.
 */
export class FleetLease {
  private token = 0;
  private renewing: NodeJS.Timeout | undefined;
  private ensuring: Promise<void> | undefined;

  constructor(
    private readonly store: LeaseStore,
    private readonly registry: FleetRegistry,
    private readonly config: Config,
    private readonly rolloutId: string,
    private readonly journal: RolloutJournal,
    private readonly logger: Logger,
  ) {}

  /** Holds a slot before a restart (concurrent callers share one look). */
  ensure(onWait: (w: Wait) => Promise<void>, signal?: AbortSignal): Promise<void> {
    this.ensuring ??= this.hold(onWait, signal).finally(() => {
      this.ensuring = undefined;
    });
    return this.ensuring;
  }

  private async hold(onWait: (w: Wait) => Promise<void>, signal?: AbortSignal): Promise<void> {
    const { hostId: host, fleet } = this.config;
    if (this.token > 0) {
      // The fencing check at the step boundary: is the slot still ours, under this token?
      if (await this.store.renew(host, this.token, 0).catch(() => false)) return;
      this.journal.append("fleet.lease", { state: "lost", token: this.token });
      this.logger.warn({ rolloutId: this.rolloutId, token: this.token }, "fleet slot lost: no container restarts until one is held again");
      this.stopRenewing();
      this.token = 0;
    }
    let last = "";
    for (;;) {
      if (signal?.aborted === true) throw new RolloutReleased(`released: ${String(signal.reason ?? "the worker is stopping")}`);
      let reason: string;
      try {
        const limit = leaseLimit(fleet.maxHostsInFlight, await this.registry.size());
        const r = await this.store.acquire(host, limit, fleet.leaseMs, this.rolloutId);
        if (r.ok) {
          this.token = r.token;
          this.journal.append("fleet.lease", { state: "acquired", token: r.token, limit });
          this.startRenewing();
          return;
        }
        reason = `waiting for a fleet slot: ${r.holders.length} of ${limit} host(s) restart containers now (${r.holders.join(", ")}; fleet.maxHostsInFlight ${fleet.maxHostsInFlight})`;
      } catch (err) {
        reason = `waiting for a fleet slot: the fleet's Redis did not answer (${(err as Error).message})`;
      }
      if (reason !== last) await onWait({ status: "waiting", reason });
      last = reason;
      await sleep(fleet.pollMs);
    }
  }

  private startRenewing(): void {
    const { hostId, fleet } = this.config;
    const token = this.token;
    this.renewing = setInterval(() => {
      this.store.renew(hostId, token, fleet.leaseMs).then(
        (ok) => {
          if (!ok) this.logger.warn({ rolloutId: this.rolloutId, token }, "fleet slot lost at renewal; the next step boundary stops");
        },
        (err: unknown) => this.logger.warn({ rolloutId: this.rolloutId, err: (err as Error).message }, "could not renew the fleet slot"),
      );
    }, Math.max(100, Math.floor(fleet.leaseMs / 3)));
    this.renewing.unref();
  }

  private stopRenewing(): void {
    clearInterval(this.renewing);
    this.renewing = undefined;
  }

  /** Gives the slot back (the rollout ended, or went back to the queue). */
  async release(): Promise<void> {
    this.stopRenewing();
    if (this.token === 0) return;
    const token = this.token;
    this.token = 0;
    await this.store.release(this.config.hostId, token);
    this.journal.append("fleet.lease", { state: "released", token });
  }
}
