import { EventEmitter } from "node:events";
import { chmod, mkdir, rm } from "node:fs/promises";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { execa, type ResultPromise } from "execa";
import { Redis } from "ioredis";
import { PatchrollError } from "../errors/patchroll-error.js";
import { writeFileDurable } from "../fs/durable-file.js";
import type { Logger } from "../log/logger.js";
import { embeddedRedisPaths, renderRedisConfig, restartDelayMs, type EmbeddedRedisPaths } from "./redis-config.js";
import { redisLineLevel } from "./redis-log-line.js";
import { clearStaleRedis } from "./redis-stale.js";

/** How redis-server is spawned (see launch()). */
type ChildOptions = { stdin: "ignore"; all: true; buffer: false; reject: false; detached: true; forceKillAfterDelay: number };
type RedisChild = ResultPromise<ChildOptions>;

export interface RedisSupervisorOptions {
  /** patchroll's state directory; Redis lives in `STATEDIR/redis/` (see {@link embeddedRedisPaths}). */
  stateDir: string;
  /** The redis-server executable. Default: `redis-server` from PATH. */
  binary?: string;
  logger: Logger;
  /** How long start() waits for PING to answer (AOF loading included). Default 60000 ms. */
  startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. Default 10000 ms. */
  stopTimeoutMs?: number;
  /** First restart delay, doubling per consecutive crash. Default 200 ms. */
  restartInitialDelayMs?: number;
  /** Longest restart delay. Default 30000 ms. */
  restartMaxDelayMs?: number;
  /** A server that ran this long counts as healthy again: the next crash restarts after the first delay. Default 30000 ms. */
  stableAfterMs?: number;
}

/** Events of a {@link RedisSupervisor}. */
export interface RedisSupervisorEvents {
  /** redis-server answers PING (after start() and after every restart). */
  ready: [{ pid: number }];
  /** redis-server ended without stop() asking it to. */
  exit: [{ pid: number; exitCode: number | undefined; signal: string | undefined; restartInMs: number }];
  /** A restart succeeded; `attempt` counts consecutive crashes. */
  restart: [{ pid: number; attempt: number; delayMs: number }];
  /** A restart failed; the supervisor keeps trying with a longer delay. */
  "restart-failed": [{ attempt: number; error: Error }];
}

/**
 * Runs and supervises the embedded redis-server: no TCP port, only a 0700 unix socket under the state
 * directory, AOF on, `noeviction`. A crashed server is restarted with exponential backoff (each restart is
 * logged); its AOF brings the data back. Leftovers of a crash (pid file, socket, orphaned server) do not
 * block start().
 */
export class RedisSupervisor extends EventEmitter<RedisSupervisorEvents> {
  readonly paths: EmbeddedRedisPaths;
  private readonly binary: string;
  private readonly logger: Logger;
  private readonly opts: Required<Omit<RedisSupervisorOptions, "stateDir" | "binary" | "logger">>;
  private child: RedisChild | undefined;
  /** The child that answered PING: only its exit means a crash to restart from. */
  private readyChild: RedisChild | undefined;
  private childExit: Promise<void> = Promise.resolve();
  private state: "idle" | "running" | "stopping" = "idle";
  private crashes = 0;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(options: RedisSupervisorOptions) {
    super();
    this.paths = embeddedRedisPaths(options.stateDir);
    this.binary = options.binary ?? "redis-server";
    this.logger = options.logger.child({ component: "redis-supervisor" });
    this.opts = {
      startTimeoutMs: options.startTimeoutMs ?? 60_000,
      stopTimeoutMs: options.stopTimeoutMs ?? 10_000,
      restartInitialDelayMs: options.restartInitialDelayMs ?? 200,
      restartMaxDelayMs: options.restartMaxDelayMs ?? 30_000,
      stableAfterMs: options.stableAfterMs ?? 30_000,
    };
  }

  /** The unix socket clients connect to (`STATEDIR/redis/redis.sock`). */
  get socketPath(): string {
    return this.paths.socketPath;
  }

  /** The pid of the redis-server that answers, if any (undefined while stopped or restarting). */
  get pid(): number | undefined {
    return this.readyChild?.pid;
  }

  /** Writes the config, clears crash leftovers, starts redis-server; resolves once it answers PING. */
  async start(): Promise<void> {
    if (this.state !== "idle") throw new PatchrollError("INTERNAL", "RedisSupervisor.start() called twice; stop() it first.");
    this.state = "running";
    try {
      await mkdir(this.paths.dir, { recursive: true, mode: 0o700 });
      await chmod(this.paths.dir, 0o700);
      await writeFileDurable(this.paths.configFile, renderRedisConfig(this.paths), { mode: 0o600 });
      await clearStaleRedis(this.paths, this.logger, this.opts.stopTimeoutMs);
      await this.launch();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Stops redis-server gracefully (SIGTERM: Redis flushes its AOF), SIGKILL after `stopTimeoutMs`. */
  async stop(): Promise<void> {
    this.state = "stopping";
    clearTimeout(this.restartTimer);
    if (this.child !== undefined) {
      this.child.kill("SIGTERM");
      await this.childExit;
      // Redis removes these on a graceful exit, but not after execa's SIGKILL.
      await Promise.all([rm(this.paths.pidFile, { force: true }), rm(this.paths.socketPath, { force: true })]);
    }
    this.child = undefined;
    this.readyChild = undefined;
    this.crashes = 0;
    this.state = "idle";
  }

  private async launch(): Promise<void> {
    // stop() may have run while a restart was clearing leftovers: do not start a server after it.
    if (this.state !== "running") throw new PatchrollError("INTERNAL", "the embedded Redis supervisor was stopped during a restart.");
    // detached: a Ctrl-C or SIGTERM sent to the daemon's process group must not reach Redis before the
    // workers have drained; stop() ends it last. No execa timeout: the server runs until stopped.
    const options: ChildOptions = { stdin: "ignore", all: true, buffer: false, reject: false, detached: true, forceKillAfterDelay: this.opts.stopTimeoutMs };
    const child = execa(this.binary, [this.paths.configFile], options);
    this.child = child;
    const startedAt = Date.now();
    const redisLog = this.logger.child({ component: "redis", pid: child.pid });
    if (child.all !== undefined) {
      createInterface({ input: child.all }).on("line", (line) => redisLog[redisLineLevel(line)](line));
    }
    this.childExit = child.then((result) => {
      if (this.readyChild === child) this.onExit(child.pid ?? 0, result.exitCode, result.signal, Date.now() - startedAt);
    });
    await this.waitForPing(child);
    this.readyChild = child;
    this.emit("ready", { pid: child.pid ?? 0 });
    this.logger.info({ pid: child.pid, socket: this.paths.socketPath }, "embedded redis-server is ready");
  }

  private onExit(pid: number, exitCode: number | undefined, signal: string | undefined, uptimeMs: number): void {
    this.readyChild = undefined;
    if (this.state !== "running") return;
    if (uptimeMs >= this.opts.stableAfterMs) this.crashes = 0;
    const delayMs = this.scheduleRestart();
    this.logger.error({ pid, exitCode, signal, attempt: this.crashes, restartInMs: delayMs }, "embedded redis-server exited unexpectedly; restarting it");
    this.emit("exit", { pid, exitCode, signal, restartInMs: delayMs });
  }

  /** Counts one more consecutive failure and schedules the next start after the matching backoff. */
  private scheduleRestart(): number {
    this.crashes += 1;
    const attempt = this.crashes;
    const delayMs = restartDelayMs(attempt, this.opts.restartInitialDelayMs, this.opts.restartMaxDelayMs);
    this.restartTimer = setTimeout(() => void this.restart(attempt, delayMs), delayMs);
    return delayMs;
  }

  private async restart(attempt: number, delayMs: number): Promise<void> {
    if (this.state !== "running") return;
    try {
      await clearStaleRedis(this.paths, this.logger, this.opts.stopTimeoutMs);
      await this.launch();
      this.logger.warn({ pid: this.pid, attempt, delayMs }, "embedded redis-server restarted");
      this.emit("restart", { pid: this.pid ?? 0, attempt, delayMs });
    } catch (err) {
      if (this.state !== "running") return;
      const error = err as Error;
      const nextInMs = this.scheduleRestart();
      this.logger.error({ err: error, attempt, nextInMs }, "restarting the embedded redis-server failed; trying again");
      this.emit("restart-failed", { attempt, error });
    }
  }

  /** Resolves when PING answers on the socket; fails when the server exits or the start times out. */
  private async waitForPing(child: RedisChild): Promise<void> {
    const deadline = Date.now() + this.opts.startTimeoutMs;
    let exited = false;
    void child.then(() => (exited = true));
    let lastError = "";
    while (!exited) {
      const client = new Redis({ path: this.paths.socketPath, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableReadyCheck: false });
      client.on("error", () => {});
      try {
        await client.connect();
        // During AOF loading PING answers "-LOADING": not ready yet.
        if ((await client.ping()) === "PONG") return;
      } catch (err) {
        lastError = (err as Error).message;
      } finally {
        client.disconnect();
      }
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new PatchrollError("REDIS_UNAVAILABLE", `the embedded redis-server did not answer PING on ${this.paths.socketPath} within ${this.opts.startTimeoutMs} ms (${lastError}). Its log lines are in patchroll's log (component "redis").`);
      }
      await sleep(25);
    }
    const result = await child;
    const what =
      result.exitCode === undefined && result.signal === undefined
        ? `could not be started (${result.originalMessage ?? result.shortMessage})`
        : `exited during start-up (${result.signal !== undefined ? `signal ${result.signal}` : `exit code ${result.exitCode}`}; its log lines are in patchroll's log, component "redis")`;
    throw new PatchrollError("REDIS_UNAVAILABLE", `the embedded redis-server (${this.binary}) ${what}. Is redis-server installed (apt-get install redis-server) and ${this.paths.dir} writable?`);
  }
}
