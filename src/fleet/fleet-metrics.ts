import type { Redis } from "ioredis";
import { Gauge, type Registry } from "prom-client";
import type { Config } from "../config/schema.js";
import { fleetKey } from "./fleet-keys.js";
import { redisNowMs } from "./registry.js";

/**
 * The fleet's gauges, in every daemon's `/metrics` when `fleet.enabled` (deploy/prometheus/README.md). Each
 * is one O(log n) Redis read per scrape, whatever the size of the fleet; a Redis error leaves them unset.
 */
export function registerFleetMetrics(registers: Registry[], redis: Redis, config: Pick<Config, "redis" | "fleet">): void {
  const guard = async (g: Gauge, fn: () => Promise<void>) => {
    g.reset();
    await fn().catch(() => undefined);
  };
  new Gauge({
    name: "patchroll_fleet_hosts",
    help: "Hosts registered in the fleet: up (a heartbeat within fleet.lostAfterMs) or silent (lost, or stopped cleanly, until forgotten).",
    labelNames: ["status"],
    registers,
    async collect() {
      await guard(this, async () => {
        const seen = fleetKey(config, "seen");
        const now = await redisNowMs(redis);
        const [all, up] = await Promise.all([redis.zcard(seen), redis.zcount(seen, now - config.fleet.lostAfterMs, "+inf")]);
        this.set({ status: "up" }, up);
        this.set({ status: "silent" }, all - up);
      });
    },
  });
  new Gauge({
    name: "patchroll_fleet_slots_held",
    help: "Fleet slots (fleet.maxHostsInFlight) held now; a dead holder's counts until its lease ran out and another host asked.",
    registers,
    async collect() {
      await guard(this, async () => this.set(await redis.zcard(fleetKey(config, "lease"))));
    },
  });
  new Gauge({
    name: "patchroll_fleet_versions_held",
    help: "Package versions held fleet-wide: failed, inconclusive, or held by an operator, and not released since.",
    registers,
    async collect() {
      await guard(this, async () => this.set(await redis.scard(fleetKey(config, "held"))));
    },
  });
}
