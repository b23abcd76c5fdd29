import { join } from "node:path";
import { reconcileReport } from "./change-report.js";
import { reconcileDpkgLog } from "./dpkg-log/reconcile.js";
import { type IntakeSink, takeReport } from "./take-report.js";

/** What one reconciliation found and did. */
export interface ReconcilePass {
  /** Groups of changes dpkg.log showed since the checkpoint. */
  groups: number;
  /**
   * Why the pass left groups for later without moving the checkpoint: hook records still wait in the
   * spool, or an unattended-upgrades run is not reported yet. Their account of the same changes is better.
   */
  deferred?: string;
  /** Events the pass made (changes no other source had reported). */
  created: string[];
  /** True on the very first pass (no checkpoint): the current end of dpkg.log became the checkpoint. */
  baseline: boolean;
}

/** Where the dpkg.log checkpoint lives. */
export function dpkgCheckpointFile(stateDir: string): string {
  return join(stateDir, "intake", "dpkg-log.json");
}

/** Retry delay after a failed pass (Redis away). */
const RETRY_MS = 5_000;
/** Retry delay after a deferred pass. */
const DEFER_MS = 1_000;
/** Deferring for a spool that does not drain stops after this long: reconciliation is the safety net. */
const MAX_DEFER_MS = 300_000;

/** What else the intake knows, that tells reconciliation to wait. */
export interface ReconcileWaits {
  /** Spool records not yet in Redis (SpoolIngest.backlog). */
  spoolBacklog?: () => number;
  /** Start of the oldest unattended-upgrades run not reported yet (UuSource.unreportedSince). */
  uuUnreportedSince?: () => string | undefined;
}

/**
 * dpkg.log reconciliation, at start and every `intake.reconcileIntervalSec`: every change since the
 * checkpoint goes through the intake (src/intake/record-change.ts), where the changes the hook or
 * unattended-upgrades' log already reported are recognised and only the rest make events (source
 * "reconcile"). The checkpoint moves only after Redis took every group: a pass that fails is repeated
 * whole, and repeating it is harmless.
 */
export class ReconcileSource {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #stopped = true;
  #deferringSince: number | undefined;

  constructor(
    private readonly sink: IntakeSink,
    private readonly waits: ReconcileWaits = {},
  ) {}

  /** Runs the first pass (failures are logged and retried), then one every interval. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.#pass();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running?.catch(() => undefined);
  }

  /** Runs a pass now (after the one in progress); throws what made it fail. For tests and tools. */
  async reconcileNow(): Promise<ReconcilePass> {
    return this.#serial(() => this.#once());
  }

  /** Runs `fn` when no pass is in progress; never two at once. */
  async #serial<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#running) await this.#running.catch(() => undefined);
    const run = fn();
    this.#running = run;
    try {
      return await run;
    } finally {
      if (this.#running === run) this.#running = undefined;
    }
  }

  async #pass(): Promise<void> {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    const pass = await this.#serial(() => this.#once()).catch((err: unknown) => {
      this.sink.logger.warn({ err, retryInMs: RETRY_MS }, "dpkg.log reconciliation failed (Redis away?); the checkpoint stays and the pass is repeated");
      return undefined;
    });
    this.#schedule(pass === undefined ? RETRY_MS : pass.deferred !== undefined ? DEFER_MS : this.sink.config.intake.reconcileIntervalSec * 1000);
  }

  #schedule(ms: number): void {
    if (this.#stopped || ms <= 0) return;
    this.#timer = setTimeout(() => void this.#pass(), ms);
    this.#timer.unref();
  }

  async #once(): Promise<ReconcilePass> {
    const { config, logger } = this.sink;
    const result = await reconcileDpkgLog({ logPath: config.intake.dpkgLog, checkpointFile: dpkgCheckpointFile(config.stateDir), settleSeconds: config.intake.reconcileSettleSec });
    for (const w of result.warnings) logger.warn({ file: w.file, lineNo: w.lineNo }, w.message);
    const created: string[] = [];
    const backlog = this.waits.spoolBacklog?.() ?? 0;
    const deferStarted = (this.#deferringSince ??= Date.now());
    if (backlog > 0 && result.groups.length > 0 && Date.now() - deferStarted < MAX_DEFER_MS) {
      return { groups: result.groups.length, created, baseline: result.baseline, deferred: `${backlog} hook record(s) still in the spool` };
    }
    const uuSince = this.waits.uuUnreportedSince?.();
    const slack = config.intake.matchSlackSec * 1000;
    for (const group of result.groups) {
      if (uuSince !== undefined && Date.parse(group.endedAt) >= Date.parse(uuSince) - slack) {
        return { groups: result.groups.length, created, baseline: result.baseline, deferred: `an unattended-upgrades run (started ${uuSince}) is not reported yet` };
      }
      for (const t of await takeReport(this.sink, reconcileReport(group))) if (t.created) created.push(t.event.id);
    }
    await result.commit();
    this.#deferringSince = undefined;
    if (result.baseline) logger.info({ dpkgLog: config.intake.dpkgLog }, "dpkg.log reconciliation starts from the current end of the log (first start)");
    return { groups: result.groups.length, created, baseline: result.baseline };
  }
}
