import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { fleetKey } from "./fleet-keys.js";

type NS = Pick<Config, "redis">;

/**
 * The fleet's counting semaphore: `{PREFIX:fleet}:lease` (host -> lease expiry, ms by the Redis server's
 * clock), `:lease:holders` (host -> its fencing token and rollout), `:lease:token` (the last token given).
 * A slot is owned by a host id (as FleetLock's): asking again while holding renews it; an expired lease is
 * dropped by the next caller, so a dead holder blocks the fleet for one lease at most.
 */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, h in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  redis.call('ZREM', KEYS[1], h)
  redis.call('HDEL', KEYS[2], h)
end`;

/** ARGV: host, limit, leaseMs, rollout. Returns [token, holders...]: token 0 when every slot is taken. */
const ACQUIRE = `${NOW}
local mine = redis.call('HGET', KEYS[2], ARGV[1])
if mine then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  return {tonumber(cjson.decode(mine).token)}
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local out = {0}
  for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do table.insert(out, h) end
  return out
end
local token = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode({token = token, rollout = ARGV[4]}))
return {token}`;

/** ARGV: host, token, leaseMs (0: only check). 1 when the host still holds this very token's lease. */
const RENEW = `${NOW}
local mine = redis.call('HGET', KEYS[2], ARGV[1])
if not mine or tonumber(cjson.decode(mine).token) ~= tonumber(ARGV[2]) then return 0 end
if tonumber(ARGV[3]) > 0 then redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1]) end
return 1`;

/** ARGV: host, token ('' : whatever the host holds, as a daemon does at start). 1 when a lease went. */
const RELEASE = `local mine = redis.call('HGET', KEYS[2], ARGV[1])
if not mine then return 0 end
if ARGV[2] ~= '' and tonumber(cjson.decode(mine).token) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1`;

export type Acquired = { ok: true; token: number } | { ok: false; holders: string[] };

export class LeaseStore {
  private readonly keys: [string, string, string];

  constructor(
    private readonly redis: Redis,
    ns: NS,
  ) {
    this.keys = [fleetKey(ns, "lease"), fleetKey(ns, "lease", "holders"), fleetKey(ns, "lease", "token")];
  }

  /** A slot for `host` (its own again, renewed, when it holds one), or who holds them all. */
  async acquire(host: string, limit: number, leaseMs: number, rollout: string): Promise<Acquired> {
    const r = (await this.redis.eval(ACQUIRE, 3, ...this.keys, host, limit, leaseMs, rollout)) as (number | string)[];
    const token = Number(r[0]);
    return token > 0 ? { ok: true, token } : { ok: false, holders: r.slice(1).map(String) };
  }

  /** Renews the lease (or, with `leaseMs` 0, only checks it); false when the host no longer holds `token`. */
  async renew(host: string, token: number, leaseMs: number): Promise<boolean> {
    return Number(await this.redis.eval(RENEW, 3, ...this.keys, host, token, leaseMs)) === 1;
  }

  /** Gives the slot back; without a token, whatever the host held (a daemon at start: it holds nothing yet). */
  async release(host: string, token?: number): Promise<boolean> {
    return Number(await this.redis.eval(RELEASE, 3, ...this.keys, host, token === undefined ? "" : String(token))) === 1;
  }

  /** The hosts holding a slot now, with their token and rollout. */
  async holders(): Promise<{ host: string; token: number; rollout: string; expiresAt: number }[]> {
    const [all, expiry] = await Promise.all([this.redis.hgetall(this.keys[1]), this.redis.zrange(this.keys[0], "0", "-1", "WITHSCORES")]);
    const exp = new Map<string, number>();
    for (let i = 0; i + 1 < expiry.length; i += 2) exp.set(expiry[i]!, Number(expiry[i + 1]));
    return Object.entries(all).map(([host, v]) => {
      const { token, rollout } = JSON.parse(v) as { token: number; rollout: string };
      return { host, token, rollout, expiresAt: exp.get(host) ?? 0 };
    });
  }
}
