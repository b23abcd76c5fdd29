import type { Redis } from "ioredis";
import { parseRedisInfo } from "./redis-health.js";

/** How long a write may take to reach a replica before the spool record is kept for another try. */
const WAIT_MS = 1000;
/** How long the number of connected replicas is trusted before INFO is asked again. */
const REPLICAS_TTL_MS = 5000;
/**
 * How long records wait for a replica that this master had and lost (disconnected, restarting, resyncing)
 * before the master is taken as one without replicas: a replica removed for good must not hold the intake
 * for ever. A Sentinel promotes a replica whose link has been down for up to ten times its
 * down-after-milliseconds (plus the master's own downtime); the default covers 30 s of those.
 */
export const REPLICA_GONE_MS = 5 * 60_000;

/**
 * Redis replicates asynchronously: a master killed right after it answered may take the write with it, and
 * a Sentinel promotes a replica that never saw it. A spool record is deleted only after `confirm()`: when
 * the master has replicas, `WAIT 1` makes sure one of them has everything written so far on this
 * connection; when it has none (standalone, embedded), there is nothing to wait for. A master that had a
 * replica and has none connected now (same replication id: no failover since) keeps records waiting too,
 * for up to {@link REPLICA_GONE_MS}: a failover now would promote that replica without them.
 */
export class ReplicaAck {
  private replicas: { count: number; replid: string; at: number } | undefined;
  /** The master (by replication id) on which a replica was seen, and since when none is connected. */
  private seen: { replid: string; missingSince?: number } | undefined;

  /**
   * `enabled` false for a cluster: `WAIT` and `INFO` have no key there and would reach any node, not the
   * master that took the record.
   */
  constructor(
    private readonly redis: Redis,
    private readonly enabled = true,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Looks at the master's replicas (INFO, at most every few seconds): the daemon's heartbeat calls it, so a
   * replica lost before any record came is known as lost when one comes.
   */
  async observe(): Promise<{ count: number; replid: string }> {
    const now = this.now();
    if (this.enabled && (this.replicas === undefined || now - this.replicas.at > REPLICAS_TTL_MS)) {
      const info = parseRedisInfo(await this.redis.info("replication"));
      this.replicas = { count: Number(info["connected_slaves"] ?? 0), replid: info["master_replid"] ?? "", at: now };
      if (this.replicas.count > 0) this.seen = { replid: this.replicas.replid };
      else if (this.seen?.replid === this.replicas.replid) this.seen.missingSince ??= now;
    }
    return this.replicas ?? { count: 0, replid: "" };
  }

  /** Resolves once a replica has this connection's writes (or there is none); rejects when none did in time. */
  async confirm(): Promise<void> {
    if (!this.enabled) return;
    const now = this.now();
    const { count, replid } = await this.observe();
    if (count === 0) {
      if (this.seen?.replid !== replid) return;
      const since = (this.seen.missingSince ??= now);
      if (now - since >= REPLICA_GONE_MS) return;
      this.replicas = undefined;
      throw new Error(`the master's replica is disconnected (since ${new Date(since).toISOString()}): a failover now would lose this record, so it stays in the spool until a replica has it (or for ${REPLICA_GONE_MS / 60_000} minutes at most)`);
    }
    const acked = Number(await this.redis.call("WAIT", 1, WAIT_MS));
    if (acked < 1) {
      this.replicas = undefined;
      throw new Error(`no replica confirmed the write within ${WAIT_MS} ms: the record stays in the spool until one does (or the master has no replica left)`);
    }
  }
}
