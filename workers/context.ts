import type { Redis } from "ioredis";
import type { Config } from "../src/config/schema.js";
import type { ContainerDriver } from "../src/containers/driver.js";
import type { FleetRollouts } from "../src/fleet/fleet-rollout.js";
import type { EventStore } from "../src/intake/event-store.js";
import type { Logger } from "../src/log/logger.js";
import type { Queues } from "../src/queue/queues.js";
import type { RolloutStore } from "../src/rollout/rollout-store.js";

/** What every job handler may use; built once by the daemon (or a test) and passed down. */
export interface WorkerContext {
  config: Config;
  logger: Logger;
  redis: Redis;
  queues: Queues;
  events: EventStore;
  rollouts: RolloutStore;
  driver: ContainerDriver;
  /** Fleet mode only (`fleet.enabled`): rollouts wait for their wave and hold what failed elsewhere. */
  fleet?: FleetRollouts;
  /** Fault injection for crash tests: called at each rollout step boundary. */
  checkpoint?: (container: string, step: string) => void | Promise<void>;
}
