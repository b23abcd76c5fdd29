import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { PatchrollError } from "../errors/patchroll-error.js";
import { fleetKey } from "./fleet-keys.js";
import { buildFleetReport, type FleetReport, type FleetReportAction } from "./fleet-report.js";
import { readMilestones, streamFields } from "./milestones.js";
import { redisNowMs } from "./registry.js";
import { type PackageVersion, versionKey } from "./version-state.js";
import { VersionStore } from "./version-store.js";

/** The operators' actions on `subject` still in the fleet's action stream. */
async function actionsOn(redis: Redis, config: Pick<Config, "redis">, subject: string): Promise<FleetReportAction[]> {
  const out: FleetReportAction[] = [];
  for (const [id, fields] of await redis.xrange(fleetKey(config, "actions"), "-", "+")) {
    const f = streamFields(fields);
    if (f.get("subject") !== subject) continue;
    out.push({ at: new Date(Number(id.split("-")[0])).toISOString(), action: f.get("action") ?? "", who: f.get("who") ?? "", why: f.get("why") ?? "", host: f.get("host") ?? "" });
  }
  return out;
}

/** Gathers one version's fleet report from the shared Redis. */
export async function loadFleetReport(redis: Redis, config: Pick<Config, "redis">, v: PackageVersion): Promise<FleetReport> {
  const key = versionKey(v);
  const firstSeen = await redis.zscore(fleetKey(config, "versions"), key);
  if (firstSeen === null) throw new PatchrollError("NOT_FOUND", `${key} has not reached the fleet (patchroll fleet verdicts lists the versions it knows)`);
  const [view, { milestones, trimmedUpToMs }, actions, nowMs] = await Promise.all([new VersionStore(redis, config).read(v), readMilestones(redis, config, key), actionsOn(redis, config, key), redisNowMs(redis)]);
  return buildFleetReport(view, Number(firstSeen), milestones, actions, trimmedUpToMs, nowMs);
}
