import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { hostKey } from "../queue/names.js";
import { AptEvent } from "./apt-event.js";
import type { SpoolRecord } from "./spool-record.js";

type NS = Pick<Config, "hostId" | "redis">;

/**
 * Apt runs and events in Redis, all under the host's namespace. Writes are idempotent: a spool record
 * delivered twice, or a run reported by several sources, changes nothing the second time.
 */
export class EventStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: NS,
  ) {}

  /** Keeps one spool record of a run; true when it was new. */
  async addRecord(rec: SpoolRecord): Promise<boolean> {
    const added = await this.redis.hsetnx(hostKey(this.ns, "run", rec.runKey, "records"), rec.id, JSON.stringify(rec));
    await this.redis.zadd(hostKey(this.ns, "runs"), "NX", Date.parse(rec.time), rec.runKey);
    return added === 1;
  }

  async records(runKey: string): Promise<SpoolRecord[]> {
    const all = await this.redis.hvals(hostKey(this.ns, "run", runKey, "records"));
    return all.map((t) => JSON.parse(t) as SpoolRecord).sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
  }

  async saveEvent(event: AptEvent): Promise<void> {
    await this.redis
      .multi()
      .set(hostKey(this.ns, "event", event.id), JSON.stringify(event))
      .zadd(hostKey(this.ns, "events"), Date.parse(event.time), event.id)
      .exec();
  }

  async getEvent(id: string): Promise<AptEvent | undefined> {
    const text = await this.redis.get(hostKey(this.ns, "event", id));
    return text === null ? undefined : AptEvent.parse(JSON.parse(text));
  }

  /** Newest first. */
  async listEvents(limit = 50): Promise<AptEvent[]> {
    const ids = await this.redis.zrevrange(hostKey(this.ns, "events"), 0, limit - 1);
    const events = await Promise.all(ids.map((id) => this.getEvent(id)));
    return events.filter((e): e is AptEvent => e !== undefined);
  }

  /** Binds an event to its one rollout. Returns the rollout id that owns the event (this one or an earlier). */
  async claimRollout(eventId: string, rolloutId: string): Promise<{ rolloutId: string; claimed: boolean }> {
    const key = hostKey(this.ns, "event", eventId, "rollout");
    const ok = await this.redis.set(key, rolloutId, "NX");
    if (ok === "OK") return { rolloutId, claimed: true };
    return { rolloutId: (await this.redis.get(key)) ?? rolloutId, claimed: false };
  }
}
