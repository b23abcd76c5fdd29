import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { standingVerdict } from "./decide.js";
import { fleetKey } from "./fleet-keys.js";
import { milestoneArgs, milestonesKey } from "./milestones.js";
import { redisNowMs } from "./registry.js";
import type { HostVersion, HumanMark, PackageVersion, Verdict, VersionView, WavePlan } from "./version-state.js";
import { versionKey } from "./version-state.js";

type NS = Pick<Config, "redis">;

const HOST_FIELD = "host:";

/** `NAME=VERSION` as stored (written by versionKey, so always well-formed). */
const fromKey = (key: string): PackageVersion => ({ pkg: key.slice(0, key.indexOf("=")), version: key.slice(key.indexOf("=") + 1) });

function parse<T>(text: string | undefined): T | null {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

/**
 * What the fleet knows of each package version: `{PREFIX:fleet}:version:NAME=VERSION`, a hash with its
 * wave plan, each host's rollout of it (`host:ID`), the standing verdict, an operator's hold and the last
 * release; `{PREFIX:fleet}:versions` lists the versions by when the fleet first saw them, `:held` the
 * versions held now (for the gauge). Times are the Redis server's.
 */
export class VersionStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: NS,
  ) {}

  private key(v: PackageVersion): string {
    return fleetKey(this.ns, "version", versionKey(v));
  }

  private async touch(v: PackageVersion, now: number): Promise<void> {
    await this.redis.zadd(fleetKey(this.ns, "versions"), "NX", now, versionKey(v));
  }

  async read(v: PackageVersion): Promise<VersionView> {
    const all = await this.redis.hgetall(this.key(v));
    const hosts: Record<string, HostVersion> = {};
    for (const [field, value] of Object.entries(all)) {
      const h = field.startsWith(HOST_FIELD) ? parse<HostVersion>(value) : null;
      if (h !== null) hosts[field.slice(HOST_FIELD.length)] = h;
    }
    return { ...v, plan: parse<WavePlan>(all["plan"]), hosts, verdict: parse<Verdict>(all["verdict"]), hold: parse<HumanMark>(all["hold"]), release: parse<HumanMark>(all["release"]) };
  }

  /**
   * What deciding for one host needs, and no more: the verdict, hold and release, and the records of the
   * given hosts only (the hosts of earlier waves), read with one HMGET instead of the whole hash.
   */
  async readFor(v: PackageVersion, plan: WavePlan, hosts: readonly string[]): Promise<VersionView> {
    const values = await this.redis.hmget(this.key(v), "verdict", "hold", "release", ...hosts.map((h) => HOST_FIELD + h));
    const [verdict, hold, release] = values.slice(0, 3).map((x) => x ?? undefined);
    const records: Record<string, HostVersion> = {};
    hosts.forEach((h, i) => {
      const r = parse<HostVersion>(values[3 + i] ?? undefined);
      if (r !== null) records[h] = r;
    });
    return { ...v, plan, hosts: records, verdict: parse<Verdict>(verdict), hold: parse<HumanMark>(hold), release: parse<HumanMark>(release) };
  }

  /** Every version the fleet has seen, newest first, with when it first saw each. */
  async list(limit = 100): Promise<{ view: VersionView; firstSeen: number }[]> {
    const flat = await this.redis.zrevrange(fleetKey(this.ns, "versions"), 0, limit - 1, "WITHSCORES");
    const out: { view: VersionView; firstSeen: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      out.push({ view: await this.read(fromKey(flat[i]!)), firstSeen: Number(flat[i + 1]) });
    }
    return out;
  }

  /** Versions first seen since `sinceMs`. */
  async recent(sinceMs: number): Promise<PackageVersion[]> {
    const keys = await this.redis.zrangebyscore(fleetKey(this.ns, "versions"), sinceMs, "+inf");
    return keys.map(fromKey);
  }

  /** One host's record of the version, if it has one. */
  async hostRecord(v: PackageVersion, host: string): Promise<HostVersion | null> {
    return parse<HostVersion>((await this.redis.hget(this.key(v), HOST_FIELD + host)) ?? undefined);
  }

  async plan(v: PackageVersion): Promise<WavePlan | null> {
    return parse<WavePlan>((await this.redis.hget(this.key(v), "plan")) ?? undefined);
  }

  /**
   * A host's rollout of the version begins: the first host to report a version fixes its waves
   * (`waves()` is asked only then); the host is recorded as waiting unless it already passed, or this very
   * rollout already ended on it (its evidence stays).
   */
  async join(v: PackageVersion, host: string, rollout: string, waves: () => Promise<string[][]>): Promise<void> {
    const key = this.key(v);
    const now = await redisNowMs(this.redis);
    await this.touch(v, now);
    if ((await this.redis.hexists(key, "plan")) === 0) await this.redis.hsetnx(key, "plan", JSON.stringify({ waves: await waves(), at: now } satisfies WavePlan));
    const had = parse<HostVersion>((await this.redis.hget(key, HOST_FIELD + host)) ?? undefined);
    if (had !== null && (had.state === "passed" || (had.rollout === rollout && had.state !== "waiting" && had.state !== "running"))) return;
    await this.setHost(v, host, { state: "waiting", rollout }, now);
  }

  /** Records how a host's rollout of the version stands, stamped now, and publishes it as a milestone. */
  async setHost(v: PackageVersion, host: string, s: Omit<HostVersion, "at">, now?: number): Promise<void> {
    const at = now ?? (await redisNowMs(this.redis));
    await this.redis
      .multi()
      .hset(this.key(v), HOST_FIELD + host, JSON.stringify({ ...s, at } satisfies HostVersion))
      .xadd(milestonesKey(this.ns), ...(milestoneArgs({ version: versionKey(v), host, rollout: s.rollout, milestone: s.state, at }) as [string, ...string[]]))
      .exec();
  }

  /**
   * A failed or inconclusive rollout's evidence: it holds the version fleet-wide until a release. An
   * inconclusive result never replaces a failure standing (unreleased): the evidence of harm stays.
   * Returns whether it became the verdict.
   */
  async setVerdict(v: PackageVersion, verdict: Omit<Verdict, "at">): Promise<boolean> {
    if (verdict.state === "inconclusive") {
      const [was, release] = (await this.redis.hmget(this.key(v), "verdict", "release")).map((x) => x ?? undefined);
      const standing = standingVerdict({ verdict: parse<Verdict>(was), release: parse<HumanMark>(release) });
      if (standing?.state === "failed") return false;
    }
    const at = await redisNowMs(this.redis);
    await this.touch(v, at);
    await this.redis
      .multi()
      .hset(this.key(v), "verdict", JSON.stringify({ ...verdict, at } satisfies Verdict))
      .sadd(fleetKey(this.ns, "held"), versionKey(v))
      .xadd(milestonesKey(this.ns), ...(milestoneArgs({ version: versionKey(v), host: verdict.host, rollout: verdict.rollout, milestone: "verdict", at, reason: `${verdict.state}: ${verdict.reason}` }) as [string, ...string[]]))
      .exec();
    return true;
  }

  /** An operator holds the version everywhere (it may not have reached any host yet). */
  async hold(v: PackageVersion, mark: Omit<HumanMark, "at">): Promise<void> {
    const at = await redisNowMs(this.redis);
    await this.touch(v, at);
    await this.redis.multi().hset(this.key(v), "hold", JSON.stringify({ ...mark, at } satisfies HumanMark)).sadd(fleetKey(this.ns, "held"), versionKey(v)).exec();
  }

  /** An operator lets the version go on: the hold goes, and verdicts and failures until now stop holding it. */
  async release(v: PackageVersion, mark: Omit<HumanMark, "at">): Promise<void> {
    const at = await redisNowMs(this.redis);
    await this.redis.multi().hdel(this.key(v), "hold").hset(this.key(v), "release", JSON.stringify({ ...mark, at } satisfies HumanMark)).srem(fleetKey(this.ns, "held"), versionKey(v)).exec();
  }
}
