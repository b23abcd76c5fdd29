import { join } from "node:path";
import { uuReport } from "./change-report.js";
import { dpkgChangesBetween } from "./dpkg-log/window.js";
import { type IntakeSink, takeReport } from "./take-report.js";
import type { UuRun } from "./uu-log/run.js";
import { UuLogWatcher } from "./uu-log/watcher.js";

/** Where the watcher keeps its positions in the two logs and the run in progress. */
export function uuStateDir(stateDir: string): string {
  return join(stateDir, "intake", "uu");
}

/**
 * The unattended-upgrades log as an intake source: each run the watcher reports (src/intake/uu-log/)
 * joins the event of its apt run, bringing its verdict, its origins and "uu-log"; a run the hook never
 * reported becomes an event of its own, its versions read from dpkg.log for the run's time (its own
 * log names no versions). A dry run changed nothing and is left out. A run Redis did not take is kept
 * by the watcher and offered again.
 */
export class UuSource {
  readonly #watcher: UuLogWatcher;

  constructor(private readonly sink: IntakeSink) {
    const { config, logger } = sink;
    this.#watcher = new UuLogWatcher({
      logDir: config.intake.uuLogDir,
      stateDir: uuStateDir(config.stateDir),
      settleMs: config.intake.uuSettleMs,
      logger,
      onRun: (run) => this.take(run),
    });
  }

  /** Resumes following the logs; a run that ended while patchroll was stopped is reported now. */
  async start(): Promise<void> {
    await this.#watcher.start();
    await this.#watcher.poll();
  }

  async stop(): Promise<void> {
    await this.#watcher.stop();
  }

  /** When the oldest unattended-upgrades run not reported yet started (ISO 8601), if any. */
  get unreportedSince(): string | undefined {
    return this.#watcher.unreportedSince;
  }

  /** Reads both logs now and reports a run whose verdict is in (for tests and tools). */
  async poll(): Promise<void> {
    await this.#watcher.poll();
  }

  /** Takes one run into the events. */
  async take(run: UuRun): Promise<void> {
    const { config, logger } = this.sink;
    if (run.dryRun) {
      logger.debug({ startedAt: run.startedAt }, "unattended-upgrades dry run: nothing changed, no event");
      return;
    }
    // The run's dpkg steps lie between its start and its last line (dpkg.log's whole seconds: one more).
    const changes = await dpkgChangesBetween(config.intake.dpkgLog, Date.parse(run.startedAt), Date.parse(run.endedAt ?? run.startedAt) + 1000);
    const taken = await takeReport(this.sink, uuReport(run, changes));
    logger.info({ startedAt: run.startedAt, outcome: run.outcome, events: taken.map((t) => t.event.id) }, "unattended-upgrades run seen in its log");
  }
}
