import { createHash } from "node:crypto";
import type { Config } from "../config/schema.js";
import { queuePrefix } from "../queue/names.js";
import { fleetKey } from "./fleet-keys.js";

/**
 * The Redis ACL user of one host (pure): it may touch its own keys (`{PREFIX:HOST}:*`, BullMQ's included)
 * and the fleet's (`{PREFIX:fleet}:*`), nothing else; no pub/sub channel; every command but the
 * administrative and dangerous ones, save the few the daemon and CLI use (INFO for Redis' health and
 * BullMQ's version check, CLIENT SETNAME/GETNAME for named connections, CLIENT LIST for the worker count).
 * The password is given by its SHA-256 (`#...`): the ACL never holds it in clear.
 */
export function aclRules(config: Pick<Config, "redis">, host: string, password: string): { user: string; rules: string[] } {
  const ns = { redis: config.redis, hostId: host };
  return {
    user: `${config.redis.prefix}-${host}`,
    rules: [
      "reset",
      "on",
      `#${createHash("sha256").update(password).digest("hex")}`,
      `~${queuePrefix(ns)}:*`,
      `~${fleetKey(ns)}:*`,
      "resetchannels",
      "+@all",
      "-@admin",
      "-@dangerous",
      "+info",
      "+client|setname",
      "+client|getname",
      "+client|list",
      "+client|id",
    ],
  };
}

/** `ACL SETUSER ...` for redis-cli, and the same user as a line of an ACL file (`aclfile`). */
export function aclLines(config: Pick<Config, "redis">, host: string, password: string): { user: string; command: string; aclFile: string } {
  const { user, rules } = aclRules(config, host, password);
  return { user, command: `ACL SETUSER ${user} ${rules.join(" ")}`, aclFile: `user ${user} ${rules.filter((r) => r !== "reset").join(" ")}` };
}
