import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { hostKey } from "../queue/names.js";
import type { RolloutProgress } from "./run-rollout.js";

type NS = Pick<Config, "hostId" | "redis">;

/** The live state of a rollout, for the CLI and dashboard. The journal, not this, is the record. */
export interface RolloutState extends Omit<Partial<RolloutProgress>, "status"> {
  id: string;
  eventId: string;
  createdAt: string;
  updatedAt: string;
  status: RolloutProgress["status"] | "planned" | "merged";
  packages: string[];
  /** Set when this rollout's event was folded into another rollout before it started. */
  mergedInto?: string;
}

export class RolloutStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: NS,
  ) {}

  async save(state: RolloutState): Promise<void> {
    await this.redis
      .multi()
      .set(hostKey(this.ns, "rollout", state.id), JSON.stringify(state))
      .zadd(hostKey(this.ns, "rollouts"), Date.parse(state.createdAt), state.id)
      .exec();
  }

  async get(id: string): Promise<RolloutState | undefined> {
    const text = await this.redis.get(hostKey(this.ns, "rollout", id));
    return text === null ? undefined : (JSON.parse(text) as RolloutState);
  }

  /** Ids of the newest rollouts, newest first. */
  async recentIds(limit: number): Promise<string[]> {
    return this.redis.zrevrange(hostKey(this.ns, "rollouts"), 0, limit - 1);
  }

  /** Newest first. */
  async list(limit = 50): Promise<RolloutState[]> {
    const ids = await this.recentIds(limit);
    const all = await Promise.all(ids.map((id) => this.get(id)));
    return all.filter((s): s is RolloutState => s !== undefined);
  }
}
