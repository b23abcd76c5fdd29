import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { fleetKey } from "./fleet-keys.js";
import { HostRecord, hostStatus, type HostView } from "./host-record.js";

type NS = Pick<Config, "redis">;

/**
 * One heartbeat, atomically, stamped with the Redis server's clock (hosts' clocks may disagree):
 * ZADD seen; HSET the record only when one is sent. An empty record means "unchanged"; if the host's
 * record is gone (forgotten meanwhile) the script says so (-1) and the caller sends the whole record.
 */
const HEARTBEAT = `
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[2] == '' then
  if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('ZADD', KEYS[2], ms, ARGV[1])
return ms`;

/** The Redis server's clock in ms. */
export async function redisNowMs(redis: Redis): Promise<number> {
  const [sec, usec] = await redis.time();
  return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
}

/** The fleet's hosts: `{PREFIX:fleet}:hosts` (host -> last record) and `:seen` (host -> last heartbeat ms). */
export class FleetRegistry {
  private readonly hostsKey: string;
  private readonly seenKey: string;

  constructor(
    private readonly redis: Redis,
    ns: NS,
  ) {
    this.hostsKey = fleetKey(ns, "hosts");
    this.seenKey = fleetKey(ns, "seen");
  }

  /** Records a heartbeat; `record` undefined means unchanged. Returns false when the whole record is needed. */
  async heartbeat(host: string, record?: HostRecord): Promise<boolean> {
    const r = await this.redis.eval(HEARTBEAT, 2, this.hostsKey, this.seenKey, host, record === undefined ? "" : JSON.stringify(record));
    return Number(r) !== -1;
  }

  /** Every registered host, sorted by id, as seen now. */
  async list(lostAfterMs: number): Promise<HostView[]> {
    const [records, seen, now] = await Promise.all([this.redis.hgetall(this.hostsKey), this.redis.zrange(this.seenKey, "0", "-1", "WITHSCORES"), redisNowMs(this.redis)]);
    const seenMs = new Map<string, number>();
    for (let i = 0; i + 1 < seen.length; i += 2) seenMs.set(seen[i]!, Number(seen[i + 1]));
    return Object.keys(records).sort().map((host) => {
      const parsed = HostRecord.safeParse(safeJson(records[host]!));
      const record = parsed.success ? parsed.data : null;
      const at = seenMs.get(host) ?? 0;
      return { host, status: hostStatus(record, at, now, lostAfterMs), lastSeen: new Date(at).toISOString(), silentSec: Math.max(0, Math.round((now - at) / 1000)), record };
    });
  }

  /** How many hosts are registered (lost ones too, until forgotten). */
  async size(): Promise<number> {
    return this.redis.hlen(this.hostsKey);
  }

  /** Which of `hosts` were heard from within `lostAfterMs` (a forgotten host is not). */
  async aliveAmong(hosts: readonly string[], lostAfterMs: number): Promise<Set<string>> {
    if (hosts.length === 0) return new Set();
    const [scores, now] = await Promise.all([this.redis.zmscore(this.seenKey, ...hosts), redisNowMs(this.redis)]);
    return new Set(hosts.filter((_, i) => scores[i] != null && now - Number(scores[i]) <= lostAfterMs));
  }

  /** Removes a host from the registry; false when it was not registered. */
  async forget(host: string): Promise<boolean> {
    const [removed] = (await this.redis.multi().hdel(this.hostsKey, host).zrem(this.seenKey, host).exec()) ?? [];
    return Number(removed?.[1] ?? 0) > 0;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
