import { z } from "zod";
import { BatchSize } from "../config/batch-size.js";

/**
 * `fleet.*`: many hosts on one shared Redis. Off by default: a host with the embedded Redis (or a shared
 * one without `fleet.enabled`) decides alone, exactly as before. See docs/fleet.md.
 */
export const FleetSchema = z.strictObject({
  enabled: z.boolean().default(false).describe("Fleet mode: this host registers on the shared Redis (`redis.url`, `redis.sentinel` or `redis.cluster` must be set; the daemon refuses to start otherwise), heartbeats, and rolls a package version out only when the fleet's wave for it is open and no host has failed it. Off: the host decides alone, as before."),
  heartbeatMs: z.number().int().min(100).max(600_000).default(10_000).describe("Time between two heartbeats. An unchanged heartbeat costs one small script call; a changed one also rewrites the host's record."),
  lostAfterMs: z.number().int().min(200).max(86_400_000).default(60_000).describe("A host silent this long (by the Redis server's clock) is shown `lost`, with its last heartbeat. Must exceed `heartbeatMs`."),
  summaryEveryMs: z.number().int().min(100).max(86_400_000).default(60_000).describe("How often the heartbeat's container counts, oldest exposure and last apt event are measured again (a read-only scan of the containers' processes); heartbeats in between repeat the last measure. An idle host's rollout is looked at in full this often too; a running one at every heartbeat."),
  waves: z.array(BatchSize).min(1).default([1, "10%", "100%"]).describe("Waves of hosts for one package version, first to last, with Ansible `serial` semantics over the hosts of the fleet: a count or a percentage (rounded down, at least 1); the last entry repeats until every host is placed."),
  bakeMs: z.number().int().min(0).max(7 * 86_400_000).default(600_000).describe("Time every host of a wave must have finished its rollout of a version before the next wave opens."),
  canaryHosts: z.array(z.string().min(1)).default([]).describe("Host ids or globs (`*`, `?`) placed first, in this order, when hosts are cut into waves. The rest follow sorted by host id, so the first wave is predictable when none is named."),
  maxHostsInFlight: BatchSize.default("100%").describe("At most this many hosts restart containers at once, fleet-wide: a count, or a percentage of the registered hosts (rounded down, at least 1). A host holds a slot (a lease renewed by its daemon, with a fencing token journaled) from its first restart to the end of its rollout; a slot whose holder died is free again after `leaseMs`. Default: no limit beyond the waves."),
  leaseMs: z.number().int().min(1000).max(3_600_000).default(30_000).describe("How long a fleet slot lasts without renewal (renewed every third of it). A host that finds its slot lost (Redis failover, partition, a pause longer than this) restarts no further container until it holds one again."),
  pollMs: z.number().int().min(50).max(600_000).default(1_000).describe("How often a rollout waiting for its wave, for a fleet slot, or held fleet-wide, asks the fleet again (one small read of the records of the hosts of earlier waves): a wave opens at most this long after the previous one passed and baked."),
}).prefault({}).describe("Many hosts on one shared Redis: host registry and heartbeats, waves across hosts, fleet-wide verdicts and holds.");
