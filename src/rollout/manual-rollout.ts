import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import type { AptEvent, PackageChange } from "../intake/apt-event.js";
import { PatchrollError } from "../errors/patchroll-error.js";
import { EventStore } from "../intake/event-store.js";
import { runTool } from "../proc/run-tool.js";
import type { Queues } from "../queue/queues.js";
import { ensureRollout } from "./ensure-rollout.js";

/** A package named by an operator, as the change it stands for: its installed version, "reinstalled". */
async function asReinstall(name: string): Promise<PackageChange> {
  const r = await runTool("dpkg-query", ["-W", "-f=${Version} ${Architecture}", "--", name], { timeoutMs: 10_000 }).result;
  const [version, arch] = r.exitCode === 0 ? r.stdout.trim().split(" ") : [];
  return { name, arch: arch || "all", from: version || null, to: version || null, action: "reinstall" };
}

/**
 * Starts a rollout that no apt run triggered: an operator's (`patchroll rollouts start --packages ...`,
 * e.g. after installing a fix by hand with dpkg), or a benchmark's. It is recorded as an event with source
 * `manual` and then runs like any other. `beforeQueue` runs between recording and queueing.
 */
export async function startManualRollout(
  redis: Redis,
  queues: Queues,
  config: Config,
  packages: readonly (PackageChange | string)[],
  beforeQueue?: (rolloutId: string) => Promise<unknown>,
): Promise<{ eventId: string; rolloutId: string }> {
  const event: AptEvent = {
    v: 1,
    id: `manual-${Date.now()}-${randomBytes(3).toString("hex")}`,
    host: config.hostId,
    time: new Date().toISOString(),
    packages: await Promise.all(packages.map(async (p) => (typeof p === "string" ? asReinstall(p) : p))),
    origin: "unknown",
    sources: ["manual"],
  };
  const events = new EventStore(redis, config);
  await events.saveEvent(event);
  const queued = await ensureRollout({ events, queues, config }, event, { requested: true, ...(beforeQueue !== undefined ? { beforeQueue } : {}) });
  if (queued === undefined) throw new PatchrollError("INTERNAL", `manual rollout of event ${event.id} was not queued (a requested rollout always is)`);
  return { eventId: event.id, rolloutId: queued.rolloutId };
}
