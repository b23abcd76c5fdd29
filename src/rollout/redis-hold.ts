import type { Logger } from "../log/logger.js";
import { isRedisError } from "../queue/redis-errors.js";
import { RolloutReleased, type RolloutGate } from "./gates.js";

export interface RedisHoldOptions {
  log: Logger;
  /** Aborted when the worker shuts down: a hold then ends with RolloutReleased. */
  signal?: AbortSignal;
  /** Told once when a hold begins (the runner journals it), with the reason in words. */
  onHold?: (reason: string) => void;
  /** First pause before trying again; doubles up to `maxDelayMs`. Defaults 100 and 1000 ms: a retry is one command, and a rollout should go on within a second of Redis answering again. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Keeps a rollout's Redis calls from failing it. Redis is not the rollout's record (the journal is), so a
 * command Redis refuses (out of memory, READONLY after a failover, CLUSTERDOWN) or cannot answer is tried
 * again until it answers, and meanwhile no further container is taken up: {@link gate} waits before every
 * batch, container and stop while any call of the rollout is being retried. A container being restarted
 * never waits for Redis (its steps do not use it) and is never left stopped.
 */
export class RedisHold {
  private failing = 0;
  private since = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly o: RedisHoldOptions) {}

  /** True while some call is being retried. */
  get holding(): boolean {
    return this.failing > 0;
  }

  /** Runs `fn`; a Redis error makes it wait and run `fn` again until it succeeds. Other errors pass. */
  async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let failed = false;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          return await fn();
        } catch (err) {
          if (!isRedisError(err)) throw err;
          if (!failed) {
            failed = true;
            this.begin(what, err as Error);
          }
          this.throwIfReleased();
          await this.pause(Math.min(this.o.maxDelayMs ?? 1000, (this.o.minDelayMs ?? 100) * 2 ** Math.min(attempt, 10)));
          this.throwIfReleased();
        }
      }
    } finally {
      if (failed) this.end();
    }
  }

  /** Resolves once no call of the rollout is being retried (at once when none is). */
  async clear(): Promise<void> {
    while (this.failing > 0) {
      this.throwIfReleased();
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        this.o.signal?.addEventListener("abort", () => resolve(), { once: true });
      });
    }
    this.throwIfReleased();
  }

  /** `gate` whose every question waits while Redis fails the rollout's calls, and is itself held on a Redis error. */
  gate(gate: RolloutGate): RolloutGate {
    const held = <T>(what: string, fn: () => Promise<T>) => this.clear().then(() => this.run(what, fn));
    return {
      beforeBatch: (batch, onWait) => held(`the controls before batch ${batch}`, () => gate.beforeBatch(batch, onWait)),
      beforeContainer: (onWait) => held("the controls before the next container", () => gate.beforeContainer(onWait)),
      ...(gate.beforeStop !== undefined ? { beforeStop: (onWait) => held("the controls before a stop", () => gate.beforeStop!(onWait)) } : {}),
      ...(gate.beforeRollback !== undefined ? { beforeRollback: (onWait) => held("the controls before a rollback", () => gate.beforeRollback!(onWait)) } : {}),
    };
  }

  private begin(what: string, err: Error): void {
    if (this.failing++ > 0) return;
    this.since = Date.now();
    const reason = `Redis did not take ${what} (${err.message.split("\n")[0]}): no further container is restarted until it does; the journal keeps the record`;
    this.o.log.warn({ err: err.message, what }, "Redis refused a rollout's command: holding before the next container until it answers");
    this.o.onHold?.(reason);
  }

  private end(): void {
    if (--this.failing > 0) return;
    this.o.log.info({ heldSec: Math.round((Date.now() - this.since) / 1000) }, "Redis answers the rollout again; it goes on");
    for (const w of this.waiters.splice(0)) w();
  }

  private throwIfReleased(): void {
    if (this.o.signal?.aborted === true) throw new RolloutReleased(`released while Redis did not answer: ${String(this.o.signal.reason ?? "the worker is stopping")}`);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.o.signal?.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
}
