import type { Redis } from "ioredis";
import { parseRedisInfo } from "./redis-health.js";

/** How long a write may take to reach a replica before the spool record is kept for another try. */
const WAIT_MS = 1000;
/** How long the number of connected replicas is trusted before INFO is asked again. */
const REPLICAS_TTL_MS = 5000;

/**
 * Redis replicates asynchronously: a master killed right after it answered may take the write with it, and
 * a Sentinel promotes a replica that never saw it. A spool record is deleted only after `confirm()`: when
 * the master has replicas, `WAIT 1` makes sure one of them has everything written so far on this
 * connection; when it has none (standalone, embedded), there is nothing to wait for.
 */
export class ReplicaAck {
  private replicas: { count: number; at: number } | undefined;

  /**
   * `enabled` false for a cluster: `WAIT` and `INFO` have no key there and would reach any node, not the
   * master that took the record.
   */
  constructor(
    private readonly redis: Redis,
    private readonly enabled = true,
  ) {}

  /** Resolves once a replica has this connection's writes (or there is none); rejects when none did in time. */
  async confirm(): Promise<void> {
    if (!this.enabled) return;
    const now = Date.now();
    if (this.replicas === undefined || now - this.replicas.at > REPLICAS_TTL_MS) {
      const info = parseRedisInfo(await this.redis.info("replication"));
      this.replicas = { count: Number(info["connected_slaves"] ?? 0), at: now };
    }
    if (this.replicas.count === 0) return;
    const acked = Number(await this.redis.call("WAIT", 1, WAIT_MS));
    if (acked < 1) {
      this.replicas = undefined;
      throw new Error(`no replica confirmed the write within ${WAIT_MS} ms: the record stays in the spool until one does (or the master has no replica left)`);
    }
  }
}
