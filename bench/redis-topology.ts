/**
 * Real Redis topologies on loopback for tests and benchmarks: a master, a replica and three sentinels; a
 * cluster; a standalone server to freeze, kill and restart. Every process is a child of this process.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { Redis } from "ioredis";
import type { RedisOptions } from "../src/queue/connection.js";
import { freePort } from "./lxc-fleet.js";

/** One redis-server (data node or sentinel) started by a test. */
export interface RedisProcess {
  port: number;
  pid: number;
  /** Sends a signal (SIGKILL for a crash, SIGSTOP/SIGCONT for a freeze). */
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the process is gone. */
  exited: Promise<void>;
}

/**
 * Starts `redis-server` with `args` (the config file, if any, first); execa's `cleanup` kills it should the
 * test process die before `stop`. Only loopback is bound, by the caller's arguments.
 */
export function startRedisProcess(args: readonly string[], port: number): RedisProcess {
  const child = execa("redis-server", [...args], { stdio: "ignore", cleanup: true, reject: false, forceKillAfterDelay: 3000 });
  const exited = child.then(() => undefined);
  return { port, pid: child.pid ?? 0, kill: (signal) => void child.kill(signal), exited };
}

/** Stops processes (SIGCONT first: a frozen process cannot act on SIGTERM) and waits for them. */
export async function stopRedisProcesses(procs: readonly RedisProcess[]): Promise<void> {
  for (const p of procs) {
    p.kill("SIGCONT");
    p.kill("SIGKILL");
  }
  await Promise.all(procs.map((p) => p.exited));
}

/** Polls `check` every 100 ms until it returns a value that is not undefined, or throws after `timeoutMs`. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last !== undefined ? ` (${(last as Error).message})` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs one command on a fresh connection and closes it. */
export async function redisCommand(options: RedisOptions, ...command: [string, ...(string | number)[]]): Promise<unknown> {
  const all: RedisOptions = { ...options, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 };
  const client = new Redis(all);
  client.on("error", () => {});
  try {
    await client.connect();
    return await client.call(...command);
  } finally {
    client.disconnect();
  }
}

/** Arguments every data node of a test gets: loopback, its own dir, persistence as patchroll asks. */
function dataNodeArgs(port: number, dir: string, password: string | undefined): string[] {
  return [
    "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "",
    "--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction",
    ...(password !== undefined ? ["--requirepass", password, "--masterauth", password] : []),
  ];
}

/**
 * TLS for every server of a topology: each speaks only TLS (no plain port), to clients, to its replicas, to
 * the sentinels and on the cluster bus, with one CA.
 */
export interface TopologyTls {
  /** The servers' certificate and key; they present it to each other too (replication, sentinels, bus). */
  cert: string;
  key: string;
  ca: string;
  /** Servers ask clients for a certificate signed by `ca` (`tls-auth-clients yes`). */
  authClients: boolean;
  /** The certificate the test's own admin connections present. */
  client: { cert: string; key: string };
}

/** Server directives for TLS only on `port` (as `--name value` arguments, or config-file lines). */
function tlsDirectives(port: number, tls: TopologyTls, cluster: boolean): [string, string][] {
  return [
    ["port", "0"], ["tls-port", String(port)],
    ["tls-cert-file", tls.cert], ["tls-key-file", tls.key], ["tls-ca-cert-file", tls.ca],
    ["tls-auth-clients", tls.authClients ? "yes" : "no"],
    // Outgoing links (a replica to its master, a sentinel to the servers and the other sentinels) in TLS too.
    ["tls-replication", "yes"],
    ...(cluster ? ([["tls-cluster", "yes"]] as [string, string][]) : []),
  ];
}

const asArgs = (directives: [string, string][]) => directives.flatMap(([k, v]) => [`--${k}`, v]);

/**
 * Connection options for the test's own admin commands over TLS: the CA and the client certificate, the
 * name `localhost` checked (every test certificate holds it, while some hold no IP address).
 */
export function adminTls(tls: TopologyTls | undefined): RedisOptions {
  if (tls === undefined) return {};
  return { tls: { ca: readFileSync(tls.ca), cert: readFileSync(tls.client.cert), key: readFileSync(tls.client.key), servername: "localhost" } };
}

export interface SentinelGroup {
  name: string;
  /** `host:port` of each sentinel, as `redis.sentinel.sentinels` takes them. */
  sentinels: string[];
  master: RedisProcess;
  replica: RedisProcess;
  /** The port the sentinels name as master now. */
  masterPort(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * A master, a replica and three sentinels (quorum 2, `down-after-milliseconds` 1000) on loopback. Resolves
 * once every sentinel knows the replica and the two other sentinels: before that a failover cannot happen.
 * With `password`, the data nodes require it and the sentinels use it (`sentinel auth-pass`).
 */
export async function startSentinelGroup(opts: { password?: string; tls?: TopologyTls } = {}): Promise<SentinelGroup> {
  const dir = mkdtempSync(join(tmpdir(), "patchroll-test-sentinel-"));
  chmodSync(dir, 0o700);
  const name = "prmaster";
  const procs: RedisProcess[] = [];
  const stop = async () => {
    await stopRedisProcesses(procs);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [mPort, rPort] = [await freePort(), await freePort()];
    const viaTls = adminTls(opts.tls);
    const auth = { ...viaTls, ...(opts.password !== undefined ? { password: opts.password } : {}) };
    const tlsArgs = (port: number) => (opts.tls !== undefined ? asArgs(tlsDirectives(port, opts.tls, false)) : []);
    const mDir = join(dir, "master");
    const rDir = join(dir, "replica");
    for (const d of [mDir, rDir]) mkdirSync(d, { mode: 0o700 });
    const master = startRedisProcess([...dataNodeArgs(mPort, mDir, opts.password), ...tlsArgs(mPort)], mPort);
    procs.push(master);
    await until("the master", async () => ((await redisCommand({ port: mPort, ...auth }, "PING")) === "PONG" ? true : undefined));
    const replica = startRedisProcess([...dataNodeArgs(rPort, rDir, opts.password), ...tlsArgs(rPort), "--replicaof", "127.0.0.1", String(mPort)], rPort);
    procs.push(replica);
    await until("the replica in sync", async () => {
      const info = String(await redisCommand({ port: rPort, ...auth }, "INFO", "replication"));
      return /master_link_status:up/.test(info) ? true : undefined;
    });
    const sentinels: string[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const file = join(dir, `sentinel-${i}.conf`);
      const lines = [
        `port ${port}`, "bind 127.0.0.1", `dir "${dir}"`,
        ...(opts.tls !== undefined ? tlsDirectives(port, opts.tls, false).map(([k, v]) => `${k} ${v}`) : []),
        `sentinel monitor ${name} 127.0.0.1 ${mPort} 2`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        `sentinel parallel-syncs ${name} 1`,
        ...(opts.password !== undefined ? [`sentinel auth-pass ${name} ${opts.password}`] : []),
      ];
      writeFileSync(file, `${lines.join("\n")}\n`, { mode: 0o600 });
      procs.push(startRedisProcess([file, "--sentinel"], port));
      sentinels.push(`127.0.0.1:${port}`);
    }
    // Sentinels learn the replica from the master's INFO and each other through the master's hello channel.
    for (const s of sentinels) {
      const port = Number(s.split(":")[1]);
      await until(`sentinel ${s} ready for a failover`, async () => {
        const reply = (await redisCommand({ port, ...viaTls }, "SENTINEL", "MASTER", name)) as string[];
        const field = (k: string) => Number(reply[reply.indexOf(k) + 1]);
        return field("num-slaves") >= 1 && field("num-other-sentinels") >= 2 ? true : undefined;
      }, 30_000);
    }
    const masterPort = async () => {
      for (const s of sentinels) {
        try {
          const reply = (await redisCommand({ port: Number(s.split(":")[1]), ...viaTls }, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)) as string[];
          return Number(reply[1]);
        } catch {
          // the next sentinel
        }
      }
      throw new Error("no sentinel answers");
    };
    return { name, sentinels, master, replica, masterPort, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface StandaloneRedis {
  url: string;
  port: number;
  /** The process now (a new one after a restart). */
  proc: RedisProcess;
  /** SIGKILL, then a new redis-server on the same port with nothing in it: a Redis that came back empty. */
  restartEmpty(): Promise<void>;
  /** SIGKILL, then a new redis-server on the same port and data dir: it loads its AOF. */
  restartKeepingData(): Promise<void>;
  stop(): Promise<void>;
}

export interface StandaloneOptions {
  /** TLS: the server's certificate, key and CA (clients' certificates are asked for when `authClients`). */
  tls?: { cert: string; key: string; ca: string; authClients: boolean };
  /** Ready check: PING with these connection options (e.g. TLS). Default: plain TCP. */
  ping?: RedisOptions;
}

/** One redis-server of the test's own on loopback (AOF everysec, noeviction), to freeze, kill and restart. */
export async function startStandalone(opts: StandaloneOptions = {}): Promise<StandaloneRedis> {
  const root = mkdtempSync(join(tmpdir(), "patchroll-test-standalone-"));
  chmodSync(root, 0o700);
  const port = await freePort();
  let generation = 0;
  const tlsArgs = opts.tls === undefined ? [] : [
    "--port", "0", "--tls-port", String(port), "--tls-cert-file", opts.tls.cert, "--tls-key-file", opts.tls.key,
    "--tls-ca-cert-file", opts.tls.ca, "--tls-auth-clients", opts.tls.authClients ? "yes" : "no",
  ];
  const launch = async (fresh: boolean) => {
    if (fresh) generation++;
    const dir = join(root, String(generation));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // The last --port wins: with TLS the plain port is closed and only the TLS port listens.
    const proc = startRedisProcess([...dataNodeArgs(port, dir, undefined), ...tlsArgs], port);
    await until("the standalone Redis", async () => ((await redisCommand({ port, ...opts.ping }, "PING")) === "PONG" ? true : undefined));
    return proc;
  };
  const first = await launch(false).catch((err: unknown) => {
    rmSync(root, { recursive: true, force: true });
    throw err;
  });
  const restart = async (fresh: boolean) => {
    r.proc.kill("SIGCONT");
    r.proc.kill("SIGKILL");
    await r.proc.exited;
    r.proc = await launch(fresh);
  };
  const r: StandaloneRedis = {
    url: `${opts.tls !== undefined ? "rediss" : "redis"}://127.0.0.1:${port}`,
    port,
    proc: first,
    restartEmpty: () => restart(true),
    restartKeepingData: () => restart(false),
    async stop() {
      await stopRedisProcesses([r.proc]);
      rmSync(root, { recursive: true, force: true });
    },
  };
  return r;
}

export interface TestCluster {
  /** `host:port` of every node, as `redis.cluster.nodes` takes them. */
  nodes: string[];
  procs: RedisProcess[];
  /** The master serving `slot` now, and its process. */
  masterOf(slot: number): Promise<{ port: number; proc: RedisProcess }>;
  /** Waits until every slot is served again (`cluster_state:ok` as a surviving node sees it). */
  waitOk(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Three masters and three replicas on loopback, made with `redis-cli --cluster create` (node timeout
 * 1000 ms, so a dead master's replica takes over within seconds). `adminPassword` protects the default
 * user; `user` is an ACL user for patchroll, allowed only keys of the `{patchroll:` hash tags.
 */
export async function startCluster(opts: {
  adminPassword: string;
  user: { name: string; password: string };
  tls?: TopologyTls;
  /** Nodes announce this name instead of their address (`cluster-announce-hostname`), as a TLS cluster whose certificates name hosts does. */
  announceHostname?: string;
}): Promise<TestCluster> {
  const root = mkdtempSync(join(tmpdir(), "patchroll-test-cluster-"));
  chmodSync(root, 0o700);
  const procs: RedisProcess[] = [];
  const stop = async () => {
    await stopRedisProcesses(procs);
    rmSync(root, { recursive: true, force: true });
  };
  const admin = { password: opts.adminPassword, ...adminTls(opts.tls) };
  try {
    for (let i = 0; i < 6; i++) {
      const port = await freePort();
      const dir = join(root, String(port));
      mkdirSync(dir, { mode: 0o700 });
      procs.push(startRedisProcess([
        ...dataNodeArgs(port, dir, opts.adminPassword),
        // The bus port is the data port + 10000 unless set: with random ports that may be taken or past 65535.
        "--cluster-enabled", "yes", "--cluster-port", String(await freePort()), "--cluster-config-file", join(dir, "nodes.conf"), "--cluster-node-timeout", "1000",
        // A loaded test machine may delay a replica's pings: it may take over whatever its data's age.
        "--cluster-replica-validity-factor", "0",
        // One argument per word: redis-server quotes an argument with spaces as one value.
        "--user", opts.user.name, "on", `>${opts.user.password}`, "~{patchroll:*", "&*", "+@all",
        ...(opts.tls !== undefined ? asArgs(tlsDirectives(port, opts.tls, true)) : []),
        // Clients then connect by that name, which may resolve to ::1 as well as 127.0.0.1.
        ...(opts.announceHostname !== undefined ? ["--cluster-announce-hostname", opts.announceHostname, "--cluster-preferred-endpoint-type", "hostname", "--bind", "127.0.0.1", "-::1"] : []),
      ], port));
    }
    for (const p of procs) await until(`cluster node ${p.port}`, async () => ((await redisCommand({ port: p.port, ...admin }, "PING")) === "PONG" ? true : undefined));
    const addresses = procs.map((p) => `127.0.0.1:${p.port}`);
    const nodes = procs.map((p) => `${opts.announceHostname ?? "127.0.0.1"}:${p.port}`);
    const cliTls = opts.tls !== undefined ? ["--tls", "--cacert", opts.tls.ca, "--cert", opts.tls.client.cert, "--key", opts.tls.client.key] : [];
    await execa("redis-cli", [...cliTls, "--cluster", "create", ...addresses, "--cluster-replicas", "1", "--cluster-yes"], { env: { REDISCLI_AUTH: opts.adminPassword }, timeout: 60_000 });
    const waitOk = async () => {
      await until("cluster_state:ok on every live node", async () => {
        for (const p of procs) {
          const info = await redisCommand({ port: p.port, ...admin }, "CLUSTER", "INFO").catch(() => undefined);
          if (info !== undefined && !String(info).includes("cluster_state:ok")) return undefined;
        }
        return true;
      }, 30_000);
    };
    await waitOk();
    // A replica that has not finished its first sync cannot take over: wait for all three.
    await until("every replica in sync", async () => {
      let synced = 0;
      for (const p of procs) {
        const info = String(await redisCommand({ port: p.port, ...admin }, "INFO", "replication"));
        if (/role:slave/.test(info) && /master_link_status:up/.test(info) && /master_sync_in_progress:0/.test(info)) synced++;
      }
      return synced === 3 ? true : undefined;
    }, 30_000);
    const masterOf = async (slot: number) => {
      for (const p of procs) {
        const shards = (await redisCommand({ port: p.port, ...admin }, "CLUSTER", "SLOTS").catch(() => undefined)) as [number, number, [string, number]][] | undefined;
        const range = shards?.find(([from, to]) => from <= slot && slot <= to);
        if (range !== undefined) {
          const port = Number(range[2][1]);
          return { port, proc: procs.find((x) => x.port === port)! };
        }
      }
      throw new Error(`no node answers CLUSTER SLOTS for slot ${slot}`);
    };
    return { nodes, procs, masterOf, waitOk, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
