import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { silentLogger, type Logger } from "../../log/logger.js";
import { readJsonFile, writeJsonAtomic } from "../tail/atomic-json.js";
import { LogFollower } from "../tail/follower.js";
import type { FollowedLine, ParseWarning } from "../tail/line.js";
import { UuDpkgBlockAssembler, type UuDpkgAssemblerState } from "./dpkg-blocks.js";
import { parseUuLogLine } from "./parse.js";
import type { UuRun } from "./run.js";
import { UuRunTracker, type UuTrackerState } from "./tracker.js";

/** Options of {@link UuLogWatcher}. */
export interface UuLogWatcherOptions {
  /** Where unattended-upgrades logs. Default /var/log/unattended-upgrades. */
  logDir?: string;
  /** Directory for the followers' checkpoints and the tracker state (created if missing). */
  stateDir: string;
  /** Called once per completed run; a run is retried until this resolves (it should be idempotent). */
  onRun: (run: UuRun) => void | Promise<void>;
  /** Quiet time after a run's verdict before it is closed (kept-back lines come after it). Default 5000 ms. */
  settleMs?: number;
  /** A run with no verdict and no new line for this long is closed as failed. Default 6 h. */
  staleMs?: number;
  /** Marks runs that leave this file behind as needing a reboot. Default /run/reboot-required. */
  rebootRequiredFile?: string;
  /** See {@link LogFollowerOptions.startAt}. Default "end": history is dpkg.log reconciliation's job. */
  startAt?: "start" | "end";
  /** See {@link LogFollowerOptions.pollMs}. */
  pollMs?: number;
  /** See {@link LogFollowerOptions.watch}. */
  watch?: boolean;
  logger?: Logger;
  /** Unknown or malformed lines and follower trouble (also logged at warn level). */
  onWarning?: (warning: ParseWarning) => void;
}

const State = z.object({
  v: z.literal(1),
  tracker: z.custom<UuTrackerState>((x) => typeof x === "object" && x !== null && Array.isArray((x as UuTrackerState).pendingBlocks)),
  assembler: z.custom<UuDpkgAssemblerState>((x) => typeof x === "object" && x !== null),
  outbox: z.array(z.custom<UuRun>((x) => typeof x === "object" && x !== null)),
});
type State = z.infer<typeof State>;

/**
 * Follows unattended-upgrades.log and unattended-upgrades-dpkg.log (rotation-safe, resumable) and
 * reports each unattended-upgrades run once it is over. Its state survives restarts: a run in progress
 * when the daemon stops is still reported whole; a completed run is kept until `onRun` succeeded.
 */
export class UuLogWatcher {
  readonly #o: UuLogWatcherOptions;
  readonly #log: Logger;
  readonly #statePath: string;
  #tracker = new UuRunTracker();
  #assembler = new UuDpkgBlockAssembler();
  #outbox: UuRun[] = [];
  #followers: LogFollower[] = [];
  #chain: Promise<void> = Promise.resolve();
  #settleTimer: NodeJS.Timeout | undefined;
  #staleTimer: NodeJS.Timeout | undefined;
  #stopped = true;

  constructor(options: UuLogWatcherOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger();
    this.#statePath = join(options.stateDir, "uu-tracker.json");
  }

  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    const saved = await readJsonFile(this.#statePath, State);
    if (saved.kind === "ok") {
      this.#tracker = new UuRunTracker(saved.value.tracker);
      this.#assembler = new UuDpkgBlockAssembler(saved.value.assembler);
      this.#outbox = saved.value.outbox;
    } else if (saved.kind === "invalid") {
      this.#warn({ file: this.#statePath, message: `${this.#statePath}: unreadable watcher state (${saved.reason}); starting afresh` });
    }
    const dir = this.#o.logDir ?? "/var/log/unattended-upgrades";
    const common = {
      startAt: this.#o.startAt ?? "end",
      ...(this.#o.pollMs === undefined ? {} : { pollMs: this.#o.pollMs }),
      ...(this.#o.watch === undefined ? {} : { watch: this.#o.watch }),
      onWarning: (w: ParseWarning) => this.#warn(w),
      onError: (err: unknown) => this.#log.error({ err }, "unattended-upgrades log follower failed; retrying at the next poll"),
    };
    this.#followers = [
      new LogFollower({ ...common, path: join(dir, "unattended-upgrades.log"), checkpointFile: join(this.#o.stateDir, "uu-main.follow.json"), onLines: (l) => this.#serial(() => this.#onMain(l)) }),
      new LogFollower({ ...common, path: join(dir, "unattended-upgrades-dpkg.log"), checkpointFile: join(this.#o.stateDir, "uu-dpkg.follow.json"), onLines: (l) => this.#serial(() => this.#onDpkg(l)) }),
    ];
    // The dpkg log first: its blocks wait for the run they belong to, never the other way round.
    for (const f of [...this.#followers].reverse()) await f.start();
    await this.#serial(() => this.#deliver());
    this.#armTimers();
  }

  /**
   * When the oldest unattended-upgrades run not yet handed over started (ISO 8601): the run in progress
   * in the logs, or a finished one `onRun` has not taken yet. Undefined when there is none.
   */
  get unreportedSince(): string | undefined {
    return [this.#tracker.openSince, ...this.#outbox.map((r) => r.startedAt)].filter((t): t is string => t !== undefined).sort()[0];
  }

  /** Reads both logs now and closes a run whose verdict is in (what the timers do); for tests and tools. */
  async poll(): Promise<void> {
    for (const f of [...this.#followers].reverse()) await f.poll();
    await this.#serial(() => this.#settle(false));
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#settleTimer);
    clearTimeout(this.#staleTimer);
    for (const f of this.#followers) await f.stop();
    await this.#chain;
  }

  /** Runs `fn` after everything queued before it (the two followers call in concurrently). */
  #serial(fn: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(fn, fn);
    this.#chain = next.catch((err: unknown) => this.#log.error({ err }, "unattended-upgrades watcher step failed"));
    return this.#chain;
  }

  async #onMain(lines: FollowedLine[]): Promise<void> {
    for (const l of lines) {
      const { entry, warning } = parseUuLogLine(l.line, l);
      if (warning) this.#warn(warning);
      this.#outbox.push(...this.#tracker.push(entry).map((r) => this.#finalize(r)));
    }
    await this.#persist();
    await this.#deliver();
    this.#armTimers();
  }

  async #onDpkg(lines: FollowedLine[]): Promise<void> {
    for (const l of lines) for (const b of this.#assembler.push(l.line, l)) this.#tracker.pushBlock(b);
    await this.#persist();
    this.#armTimers();
  }

  /** Closes the run in progress: when its verdict is in, or (`stale`) when it never came. */
  async #settle(stale: boolean): Promise<void> {
    const run = stale ? this.#tracker.finish() : this.#tracker.settle();
    if (run !== undefined) {
      this.#outbox.push(this.#finalize(run));
      await this.#persist();
    }
    await this.#deliver();
  }

  #armTimers(): void {
    if (this.#stopped) return;
    clearTimeout(this.#settleTimer);
    clearTimeout(this.#staleTimer);
    if (this.#tracker.settled || this.#outbox.length > 0) {
      this.#settleTimer = setTimeout(() => void this.#serial(() => this.#settle(false)).then(() => this.#armTimers()), this.#o.settleMs ?? 5000);
    }
    if (this.#tracker.inRun) {
      this.#staleTimer = setTimeout(() => void this.#serial(() => this.#settle(true)), this.#o.staleMs ?? 6 * 3600_000);
    }
    this.#settleTimer?.unref();
    this.#staleTimer?.unref();
  }

  #finalize(run: UuRun): UuRun {
    const file = this.#o.rebootRequiredFile ?? "/run/reboot-required";
    return run.rebootRequired || !existsSync(file) ? run : { ...run, rebootRequired: true };
  }

  async #deliver(): Promise<void> {
    while (this.#outbox.length > 0) {
      const run = this.#outbox[0]!;
      try {
        await this.#o.onRun(run);
      } catch (err) {
        this.#log.error({ err, startedAt: run.startedAt }, "handing over an unattended-upgrades run failed; will retry");
        return;
      }
      this.#outbox.shift();
      await this.#persist();
    }
  }

  async #persist(): Promise<void> {
    const state: State = { v: 1, tracker: this.#tracker.snapshot(), assembler: this.#assembler.snapshot(), outbox: this.#outbox };
    await writeJsonAtomic(this.#statePath, state);
  }

  #warn(w: ParseWarning): void {
    this.#log.warn({ file: w.file, lineNo: w.lineNo }, w.message);
    this.#o.onWarning?.(w);
  }
}
