import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { hostKey } from "../queue/names.js";
import { AptEvent, type EventSource } from "./apt-event.js";
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
    const results = await this.redis
      .multi()
      .hsetnx(hostKey(this.ns, "run", rec.runKey, "records"), rec.id, JSON.stringify(rec))
      .zadd(hostKey(this.ns, "runs"), "NX", Date.parse(rec.time), rec.runKey)
      .exec();
    const failed = results?.find(([err]) => err !== null);
    if (results === null || failed !== undefined) throw failed?.[0] ?? new Error(`keeping spool record ${rec.id} was aborted`);
    return results[0]?.[1] === 1;
  }

  async records(runKey: string): Promise<SpoolRecord[]> {
    const all = await this.redis.hvals(hostKey(this.ns, "run", runKey, "records"));
    return all.map((t) => JSON.parse(t) as SpoolRecord).sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
  }

  /**
   * Saves an event; `reports` are the reports it now holds (source and key, e.g. a hook run key), linked to
   * it in the same transaction so that a report delivered again finds its event.
   */
  async saveEvent(event: AptEvent, reports: readonly { source: EventSource; key: string }[] = []): Promise<void> {
    const tx = this.redis
      .multi()
      .set(hostKey(this.ns, "event", event.id), JSON.stringify(event))
      .zadd(hostKey(this.ns, "events"), Date.parse(event.time), event.id);
    for (const r of reports) tx.set(this.reportKey(r.source, r.key), event.id);
    const results = await tx.exec();
    const failed = results?.find(([err]) => err !== null);
    if (results === null || failed !== undefined) throw failed?.[0] ?? new Error(`saving event ${event.id} was aborted`);
  }

  /** The event a report (source and key) went into, if it was taken already. */
  async eventOfReport(source: EventSource, key: string): Promise<string | null> {
    return this.redis.get(this.reportKey(source, key));
  }

  /** Events whose time lies in [fromMs, toMs], oldest first. */
  async eventsBetween(fromMs: number, toMs: number): Promise<AptEvent[]> {
    const ids = await this.redis.zrangebyscore(hostKey(this.ns, "events"), fromMs, toMs);
    if (ids.length === 0) return [];
    const texts = await this.redis.mget(ids.map((id) => hostKey(this.ns, "event", id)));
    return texts.filter((t): t is string => t !== null).map((t) => AptEvent.parse(JSON.parse(t)));
  }

  /** Hook runs first seen in [fromMs, toMs] that no event holds yet (apt still runs, or finish-run is on its way). */
  async pendingRuns(fromMs: number, toMs: number): Promise<SpoolRecord[][]> {
    const keys = await this.redis.zrangebyscore(hostKey(this.ns, "runs"), fromMs, toMs);
    const out: SpoolRecord[][] = [];
    for (const key of keys) {
      if ((await this.eventOfReport("hook", key)) !== null) continue;
      const records = await this.records(key);
      if (records.length > 0) out.push(records);
    }
    return out;
  }

  private reportKey(source: EventSource, key: string): string {
    return hostKey(this.ns, "report", source, key);
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
