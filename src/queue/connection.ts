import { join } from "node:path";
import type { ConnectionOptions } from "node:tls";
import { Cluster, type ClusterOptions, Redis, type RedisOptions as IORedisOptions } from "ioredis";
import type { Config } from "../config/schema.js";
import { PatchrollError } from "../errors/patchroll-error.js";
import { explainTlsError, tlsHandshakeError, tlsOptions } from "./redis-tls.js";

/** The unix socket of the embedded redis-server, under the state directory that no container can read. */
export function embeddedSocket(config: Pick<Config, "stateDir">): string {
  return join(config.stateDir, "redis", "redis.sock");
}

/** True when the daemon must start and supervise its own redis-server. */
export function usesEmbeddedRedis(config: Pick<Config, "redis">): boolean {
  return config.redis.url === undefined && config.redis.sentinel === undefined && config.redis.cluster === undefined;
}

/** ioredis options as patchroll builds them (RESP2, ioredis' default reply mapping). */
export type RedisOptions = Omit<IORedisOptions, "replyMapping" | "protocol">;

export type ConnectionRole =
  /** BullMQ workers: block on Redis and wait forever for it to come back. */
  | "worker"
  /** The daemon's producers: commands fail fast while Redis is away (records stay spooled), reconnects forever. */
  | "producer"
  /** The CLI: fails fast and gives up, so the user hears at once that Redis is away. */
  | "client";

/**
 * How long a producer's or the CLI's command may wait for its answer. A frozen Redis (SIGSTOP, a stalled
 * VM) keeps the socket open and answers nothing: without this, `status` and the spool would hang with it.
 */
const COMMAND_TIMEOUT_MS = 5000;

/** `host:port` as ioredis takes it. */
function address(hostPort: string): { host: string; port: number } {
  const at = hostPort.lastIndexOf(":");
  return { host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) };
}

/** Which of `url`, `sentinel` and `cluster` is set; more than one is a configuration error. */
function topology(config: Pick<Config, "redis">): "url" | "sentinel" | "cluster" | "embedded" {
  const { url, sentinel, cluster } = config.redis;
  const set = [url !== undefined && "url", sentinel !== undefined && "sentinel", cluster !== undefined && "cluster"].filter((x): x is string => x !== false);
  if (set.length > 1) throw new PatchrollError("CONFIG_INVALID", `redis: ${set.map((k) => `redis.${k}`).join(" and ")} are all set; set one of them.`);
  return (set[0] as "url" | "sentinel" | "cluster" | undefined) ?? "embedded";
}

/**
 * ioredis options for the configured Redis: URL, Sentinel or the embedded socket; for a cluster, the
 * options every node connection gets (see {@link clusterOptions}).
 */
export function redisOptions(config: Pick<Config, "redis" | "stateDir">, role: ConnectionRole): RedisOptions {
  const base: RedisOptions =
    role === "worker"
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : role === "producer"
        ? { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, commandTimeout: COMMAND_TIMEOUT_MS, retryStrategy: (n) => Math.min(100 * n, 2000) }
        : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, commandTimeout: COMMAND_TIMEOUT_MS, retryStrategy: (n) => (n > 3 ? null : 100 * n) };
  const { redis } = config;
  const tls = redis.tls !== undefined ? tlsOptions(redis.tls) : undefined;
  const auth = {
    ...(redis.username !== undefined ? { username: redis.username } : {}),
    ...(redis.password !== undefined ? { password: redis.password } : {}),
  };
  switch (topology(config)) {
    case "sentinel": {
      const sentinel = redis.sentinel!;
      return {
        ...base,
        ...auth,
        name: sentinel.name,
        sentinels: sentinel.sentinels.map(address),
        ...(sentinel.password !== undefined ? { sentinelPassword: sentinel.password } : {}),
        // TLS to the sentinels as to the data nodes: one CA, one client certificate.
        ...(tls !== undefined ? { tls, enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
        // ioredis asks the sentinels again and again for ever by default: the CLI must give up and say why
        // (none answers, or each refuses the TLS handshake) instead of hanging.
        ...(role === "client" ? { sentinelRetryStrategy: (n: number) => (n > 2 ? null : 100 * n) } : {}),
      };
    }
    case "cluster":
      return { ...base, ...auth, ...(tls !== undefined ? { tls } : {}) };
    case "url": {
      const url = new URL(redis.url!);
      if (url.protocol === "redis:" && tls !== undefined) {
        throw new PatchrollError("CONFIG_INVALID", `redis.tls is set but redis.url is ${url.protocol}//${url.host}: TLS needs rediss://.`);
      }
      const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
      const password = url.password !== "" ? decodeURIComponent(url.password) : redis.password;
      const username = url.username !== "" ? decodeURIComponent(url.username) : redis.username;
      return {
        ...base,
        host: url.hostname,
        port: url.port === "" ? 6379 : Number(url.port),
        db,
        ...(username !== undefined ? { username } : {}),
        ...(password !== undefined ? { password } : {}),
        ...(url.protocol === "rediss:" ? { tls: tls ?? {} } : {}),
      };
    }
    case "embedded":
      return { ...base, path: embeddedSocket(config) };
  }
}

/** ioredis Cluster options as patchroll builds them (RESP2, ioredis' default reply mapping, as for {@link RedisOptions}). */
export type PatchrollClusterOptions = Omit<ClusterOptions, "redisOptions"> & { redisOptions: Omit<NonNullable<ClusterOptions["redisOptions"]>, "replyMapping" | "protocol"> };

/**
 * ioredis Cluster options: commands go to the master of their slot (every key of a host is in one, through
 * the `{prefix:HOST}` hash tag); a failed-over slot is found again through MOVED and a refresh of the slots.
 */
export function clusterOptions(config: Pick<Config, "redis" | "stateDir">, role: ConnectionRole): PatchrollClusterOptions {
  // The cluster client keeps its own offline queue and reconnection; node connections take the rest.
  const { retryStrategy, enableOfflineQueue, ...node } = redisOptions(config, role);
  void retryStrategy;
  void enableOfflineQueue;
  return {
    redisOptions: node,
    scaleReads: "master",
    enableReadyCheck: true,
    enableOfflineQueue: role === "worker",
    // While a master is down and not yet replaced the whole cluster answers CLUSTERDOWN (full coverage):
    // workers ride it out (up to 5 minutes, then the watchdog and BullMQ's retries take over); producers
    // and the CLI give up within seconds (records stay in the spool).
    maxRedirections: role === "worker" ? 600 : 16,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: role === "worker" ? 500 : 200,
    slotsRefreshTimeout: 2000,
    // A dead master answers nothing, so no MOVED tells where its slots went: ask the cluster every 2 s.
    slotsRefreshInterval: 2000,
    clusterRetryStrategy: role === "client" ? (n) => (n > 3 ? null : 100 * n) : (n) => Math.min(100 * n, 2000),
    // ioredis resolves node names to addresses before it connects; over TLS the certificate is checked
    // against what it connects to, and certificates name hosts: keep the names as configured (and as the
    // nodes announce them with cluster-announce-hostname).
    ...(config.redis.tls !== undefined ? { dnsLookup: (hostname: string, callback: (err: Error | null, address: string) => void) => callback(null, hostname) } : {}),
    ...(node.maxRetriesPerRequest !== undefined ? { maxRetriesPerRequest: node.maxRetriesPerRequest } : {}),
  };
}

/**
 * A client for the configured Redis, not yet connected. A cluster client is typed as `Redis`: patchroll
 * sends it only commands on keys of one host (one slot) and BullMQ's scripts on the same keys; the few
 * commands without a key (INFO, CONFIG, WAIT) reach one of the nodes.
 */
export function newRedisClient(config: Pick<Config, "redis" | "stateDir">, role: ConnectionRole): Redis {
  if (topology(config) === "cluster") {
    return new Cluster(config.redis.cluster!.nodes.map(address), { ...clusterOptions(config, role), lazyConnect: true }) as unknown as Redis;
  }
  return new Redis({ ...redisOptions(config, role), lazyConnect: true });
}

/**
 * BullMQ's `connection` for a worker: ioredis options (BullMQ opens and closes its connections itself), or
 * for a cluster a client of the worker's own, which `release` closes once the worker has closed.
 */
export function workerConnection(config: Pick<Config, "redis" | "stateDir">): { connection: Redis | RedisOptions; release: () => void } {
  if (topology(config) !== "cluster") return { connection: redisOptions(config, "worker"), release: () => {} };
  const client = newRedisClient(config, "worker");
  client.on("error", () => {});
  return { connection: client, release: () => client.disconnect() };
}

/** Opens a connection and waits until it is ready; a clear error names where it tried and, for TLS, what is wrong. */
export async function connectRedis(config: Pick<Config, "redis" | "stateDir">, role: ConnectionRole, onWait?: (why: string) => void): Promise<Redis> {
  const client = newRedisClient(config, role);
  // Connection errors surface through connect() and the commands; without a listener ioredis also prints them.
  let last: unknown;
  let connecting = true;
  client.on("error", (err: unknown) => {
    last = err;
    // A worker connection waits for Redis for as long as it takes: say why, in plain words, meanwhile.
    if (connecting && onWait !== undefined) onWait(`cannot reach Redis at ${describeRedis(config)} yet: ${explainTlsError(err, config.redis.tls) ?? (err as Error).message}`);
  });
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    // ioredis rejects connect() with "Connection is closed"; the TLS error itself came through "error", or
    // only a reset did, and a handshake of our own tells why.
    let cause = [err, last].find((e) => explainTlsError(e, config.redis.tls) !== undefined);
    // Each configured server in turn: the first may be the one that is down (a killed cluster master).
    for (const target of cause === undefined ? tlsAddresses(config) : []) {
      const handshake = await tlsHandshakeError(target, redisTls(config));
      if (explainTlsError(handshake, config.redis.tls) !== undefined) {
        cause = handshake;
        break;
      }
    }
    const tls = explainTlsError(cause, config.redis.tls);
    // ioredis rejects with "Connection is closed"; the reason (ECONNREFUSED, a timeout) came through "error".
    cause = tls !== undefined ? cause : (last ?? err);
    const next = tls !== undefined ? "See runbooks/redis-down.md (TLS)." : "Is the daemon running (patchroll status), or is redis.url right? See runbooks/redis-down.md.";
    throw new PatchrollError("REDIS_UNAVAILABLE", `cannot reach Redis at ${describeRedis(config)}: ${tls ?? (cause as Error).message}. ${next}`, { cause });
  } finally {
    connecting = false;
  }
  return client;
}

/** The TLS options connections use (`redis.tls`; system CAs for a `rediss://` URL without it). */
function redisTls(config: Pick<Config, "redis">): ConnectionOptions {
  return config.redis.tls !== undefined ? tlsOptions(config.redis.tls) : {};
}

/** The servers a TLS connection goes to (the URL's, the sentinels, the cluster's nodes); none without TLS. */
function tlsAddresses(config: Pick<Config, "redis">): { host: string; port: number }[] {
  const { url, sentinel, cluster, tls } = config.redis;
  if (url !== undefined) {
    const u = new URL(url);
    return u.protocol === "rediss:" ? [{ host: u.hostname, port: u.port === "" ? 6379 : Number(u.port) }] : [];
  }
  if (tls === undefined) return [];
  return (sentinel?.sentinels ?? cluster?.nodes ?? []).map(address);
}

/** Where Redis is, for messages, without secrets. */
export function describeRedis(config: Pick<Config, "redis" | "stateDir">): string {
  const tls = config.redis.tls !== undefined ? " over TLS" : "";
  if (config.redis.sentinel !== undefined) return `sentinel ${config.redis.sentinel.name} (${config.redis.sentinel.sentinels.join(", ")})${tls}`;
  if (config.redis.cluster !== undefined) return `cluster (${config.redis.cluster.nodes.join(", ")})${tls}`;
  if (config.redis.url !== undefined) {
    const url = new URL(config.redis.url);
    return `${url.protocol}//${url.host}${url.pathname}`;
  }
  return `unix:${embeddedSocket(config)} (embedded)`;
}
