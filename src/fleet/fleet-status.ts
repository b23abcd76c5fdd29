import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import type { Attention } from "../status/status-report.js";
import { fleetAttention, type SlotView } from "./fleet-attention.js";
import type { HostRecord, HostStatus, HostView } from "./host-record.js";
import { LeaseStore } from "./lease-store.js";
import { FleetRegistry, redisNowMs } from "./registry.js";
import { type VersionReport, versionReport } from "./verdicts.js";
import { VersionStore } from "./version-store.js";

/** `patchroll fleet status --json` (docs/cli.md). */
export interface FleetStatus {
  v: 1;
  at: string;
  hosts: { counts: Record<HostStatus, number>; list: HostView[] };
  /** Versions not passed yet (in flight, failed, inconclusive, held), newest first. */
  versions: VersionReport[];
  /** The fleet slots held now (`fleet.maxHostsInFlight`). */
  slots: SlotView[];
  /** The oldest exposure any host reported: its container has run outdated code the longest. */
  exposure: ({ host: string } & NonNullable<HostRecord["exposure"]>) | null;
  attention: Attention[];
}

/** Gathers the fleet's one screen from the shared Redis. */
export async function collectFleetStatus(redis: Redis, config: Config): Promise<FleetStatus> {
  const [list, versions, holders, nowMs] = await Promise.all([
    new FleetRegistry(redis, config).list(config.fleet.lostAfterMs),
    new VersionStore(redis, config).list(),
    new LeaseStore(redis, config).holders(),
    redisNowMs(redis),
  ]);
  const now = new Date(nowMs);
  const counts: Record<HostStatus, number> = { up: 0, stopped: 0, lost: 0 };
  for (const h of list) counts[h.status]++;
  const open = versions.map((x) => versionReport(x.view, x.firstSeen)).filter((r) => r.status !== "passed");
  const slots = holders.map((s) => ({ host: s.host, token: s.token, rollout: s.rollout, expiresAt: new Date(s.expiresAt).toISOString() }));
  let exposure: FleetStatus["exposure"] = null;
  for (const h of list) {
    const e = h.record?.exposure;
    if (e != null && (exposure === null || e.since < exposure.since)) exposure = { host: h.host, ...e };
  }
  return { v: 1, at: now.toISOString(), hosts: { counts, list }, versions: open, slots, exposure, attention: fleetAttention(list, open, slots, now) };
}
