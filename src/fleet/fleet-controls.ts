import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import { PatchrollError } from "../errors/patchroll-error.js";
import { recordFleetAction } from "./fleet-actions.js";
import { FleetRegistry } from "./registry.js";
import { type VersionStatus, versionStatus } from "./verdicts.js";
import { type PackageVersion, versionKey } from "./version-state.js";
import { VersionStore } from "./version-store.js";

type Ns = Pick<Config, "redis" | "journalDir" | "hostId" | "fleet">;

/**
 * An operator holds a version on every host, or releases it (a hold, or the failed or inconclusive
 * verdict standing): journaled first (who, why), then set where every host's rollouts read it. Releasing
 * a version nothing holds is an error. Returns the version's status after it.
 */
export async function holdOrRelease(redis: Redis, config: Ns, action: "hold" | "release", v: PackageVersion, who: string, why: string): Promise<VersionStatus> {
  const store = new VersionStore(redis, config);
  if (action === "release" && !["held", "failed", "inconclusive"].includes(versionStatus(await store.read(v)))) {
    throw new PatchrollError("NOT_FOUND", `${versionKey(v)} is neither held nor failed nor inconclusive: nothing to release (patchroll fleet verdicts)`);
  }
  await recordFleetAction(redis, config, { action, who, why, subject: versionKey(v) });
  await (action === "hold" ? store.hold(v, { who, why }) : store.release(v, { who, why }));
  return versionStatus(await store.read(v));
}

/** An operator removes a decommissioned host from the registry, journaled first (who, why). */
export async function forgetHost(redis: Redis, config: Ns, host: string, who: string, why: string): Promise<void> {
  const registry = new FleetRegistry(redis, config);
  if (!(await registry.list(config.fleet.lostAfterMs)).some((h) => h.host === host)) {
    throw new PatchrollError("NOT_FOUND", `host ${host} is not registered in this fleet; see patchroll fleet hosts`);
  }
  await recordFleetAction(redis, config, { action: "forget", who, why, subject: host });
  await registry.forget(host);
}
