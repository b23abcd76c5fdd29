import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import type { ContainerDriver } from "../containers/driver.js";
import type { EventStore } from "../intake/event-store.js";
import type { Logger } from "../log/logger.js";
import type { RolloutStore } from "../rollout/rollout-store.js";
import { containerStates } from "../status/container-states.js";
import { oldestExposure } from "../status/exposure.js";
import { activeRollouts } from "../status/open-halted.js";
import type { HostRecord } from "./host-record.js";
import { patchrollVersion } from "./patchroll-version.js";
import { reconcileVersions } from "./reconcile-versions.js";
import { FleetRegistry, redisNowMs } from "./registry.js";

export interface HeartbeatOptions {
  config: Config;
  redis: Redis;
  events: EventStore;
  rollouts: RolloutStore;
  driver: ContainerDriver;
  logger: Logger;
}

/**
 * The daemon's membership of the fleet: a heartbeat every `fleet.heartbeatMs` with the host's record.
 * An unchanged record is not sent again (the heartbeat then costs one small script call); the container
 * counts and exposure are measured every `fleet.summaryEveryMs`. A clean stop sends the last word
 * (`state: stopped`). Redis being away only logs: heartbeats resume when it is back.
 */
export class Heartbeat {
  private readonly registry: FleetRegistry;
  private readonly startedAt = new Date().toISOString();
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  private sent: string | undefined;
  private summary: Pick<HostRecord, "containers" | "exposure" | "lastAptEvent"> = { containers: null, exposure: null, lastAptEvent: null };
  private measuredAt = 0;
  /** The newest rollout ids last seen, and the rollout on its way then: an idle host reads only the ids. */
  private seen: { ids: string; active: HostRecord["rollout"] } = { ids: "", active: null };

  constructor(private readonly o: HeartbeatOptions) {
    this.registry = new FleetRegistry(o.redis, o.config);
  }

  async start(): Promise<void> {
    await this.beat("up");
    const every = this.o.config.fleet.heartbeatMs;
    const tick = () => {
      this.beating = this.beat("up").finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, every);
      });
    };
    this.timer = setTimeout(tick, every);
  }

  /** Stops beating and leaves the last word: `stopped`, with the record as it was. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.beating;
    await this.beat("stopped");
  }

  private async beat(state: HostRecord["state"]): Promise<void> {
    try {
      const record = await this.record(state);
      const text = JSON.stringify(record);
      const changed = text !== this.sent;
      if (!(await this.registry.heartbeat(this.o.config.hostId, changed ? record : undefined))) {
        await this.registry.heartbeat(this.o.config.hostId, record); // forgotten meanwhile: register again
      }
      this.sent = text;
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, "fleet heartbeat failed; the next one tries again");
    }
  }

  private async record(state: HostRecord["state"]): Promise<HostRecord> {
    const { config } = this.o;
    const due = Date.now() - this.measuredAt >= config.fleet.summaryEveryMs;
    if (due) await this.measure();
    return { v: 1, host: config.hostId, version: patchrollVersion(), startedAt: this.startedAt, state, ...this.summary, rollout: await this.rollout(due) };
  }

  /**
   * The rollout on its way: the states are read again when a rollout was on its way at the last
   * heartbeat, a new one appeared, or with the summary (a retried rollout keeps its id), so an idle host
   * costs one small read here.
   */
  private async rollout(force: boolean): Promise<HostRecord["rollout"]> {
    const ids = await this.o.rollouts.recentIds(10);
    const key = ids.join(" ");
    if (!force && key === this.seen.ids && this.seen.active === null) return null;
    const states = await Promise.all(ids.map((id) => this.o.rollouts.get(id)));
    const a = activeRollouts(states.filter((s) => s !== undefined))[0];
    const active = a === undefined ? null : {
      id: a.id,
      status: a.status,
      ...(a.batch !== undefined ? { batch: a.batch } : {}),
      ...(a.batches !== undefined ? { batches: a.batches } : {}),
      packages: a.packages,
      ...(a.waitReason !== undefined ? { waitReason: a.waitReason } : {}),
    };
    this.seen = { ids: key, active };
    return active;
  }

  /**
   * The last apt event, container counts and the oldest exposure (a read-only scan, so not at every
   * heartbeat), and what this host owes the fleet about versions in flight (src/fleet/reconcile-versions.ts).
   */
  private async measure(): Promise<void> {
    this.measuredAt = Date.now();
    try {
      const last = (await this.o.events.listEvents(1))[0];
      this.summary.lastAptEvent = last === undefined ? null : { id: last.id, time: last.time, packages: last.packages.map((p) => `${p.name}=${p.to ?? "(removed)"}`) };
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, "fleet heartbeat: could not read the last apt event");
    }
    try {
      const states = (await containerStates(this.o.config, { driver: this.o.driver })).filter((s) => s.managed);
      const worst = oldestExposure(states.map((s) => s.exposure));
      this.summary = {
        ...this.summary,
        containers: {
          managed: states.length,
          stale: states.filter((s) => s.verdict === "stale").length,
          shadowed: states.filter((s) => s.verdict === "shadowed").length,
          pinned: states.filter((s) => s.pin !== undefined).length,
        },
        exposure: worst === undefined ? null : { container: worst.container, since: worst.since, ...(worst.package !== undefined ? { package: worst.package } : {}) },
      };
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, "fleet heartbeat: could not measure the containers");
    }
    try {
      const r = await reconcileVersions(this.o.redis, this.o.config, await redisNowMs(this.o.redis));
      if (r.absent.length > 0) this.o.logger.info({ versions: r.absent }, "told the fleet this host will never roll these versions out");
      if (r.ended.length > 0) this.o.logger.warn({ versions: r.ended }, "told the fleet, from the journal, how rollouts ended that it had not heard of");
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, "fleet heartbeat: could not reconcile the versions in flight");
    }
  }
}
