import { ReconcileSource, type ReconcilePass } from "./reconcile-source.js";
import type { IntakeSink } from "./take-report.js";
import { UuSource } from "./uu-source.js";

/** Options of {@link IntakeSources}. */
export interface IntakeSourcesOptions extends IntakeSink {
  /** Resolves once the spool has been drained (SpoolIngest.drained): hook records go in first. */
  spoolDrained?: () => Promise<void>;
  /** Spool records not yet in Redis (SpoolIngest.backlog): dpkg.log reconciliation waits for them. */
  spoolBacklog?: () => number;
}

/**
 * The daemon's intake sources besides the apt hooks' spool: the unattended-upgrades log watcher and
 * dpkg.log reconciliation, all writing through one fail-fast Redis connection. At start they go in the
 * order that lets the best account of a run make its event: the spool's hook records first, then the
 * unattended-upgrades runs that ended while patchroll was stopped, then dpkg.log for what nobody
 * reported; reconciliation also waits while hook records are in the spool or an unattended-upgrades run
 * is not reported yet (their account is better, and dpkg.log cannot tell one apt run's several dpkg
 * runs from several apt runs). Any order still gives one event per apt run whenever some source can tell
 * the run as a whole (src/intake/correlate.ts).
 */
export class IntakeSources {
  readonly uu: UuSource;
  readonly reconcile: ReconcileSource;

  constructor(private readonly options: IntakeSourcesOptions) {
    this.uu = new UuSource(options);
    this.reconcile = new ReconcileSource(options, {
      ...(options.spoolBacklog === undefined ? {} : { spoolBacklog: options.spoolBacklog }),
      uuUnreportedSince: () => this.uu.unreportedSince,
    });
  }

  async start(): Promise<void> {
    await this.options.spoolDrained?.();
    await this.uu.start();
    await this.reconcile.start();
  }

  async stop(): Promise<void> {
    await this.reconcile.stop();
    await this.uu.stop();
  }

  /** One dpkg.log reconciliation now (for tests and tools). */
  reconcileNow(): Promise<ReconcilePass> {
    return this.reconcile.reconcileNow();
  }
}
