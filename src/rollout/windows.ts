import { createTask, validate } from "node-cron";
import { PatchrollError } from "../errors/patchroll-error.js";

/**
 * Maintenance windows: cron expressions whose matching minutes are the times a batch may start
 * (`"* 1-4 * * 1-5"`: 01:00 to 04:59 on weekdays). node-cron parses and matches them.
 */
export class MaintenanceWindows {
  private readonly tasks;

  constructor(readonly expressions: readonly string[]) {
    for (const e of expressions) {
      if (!validate(e)) throw new PatchrollError("CONFIG_INVALID", `rollout.windows: ${JSON.stringify(e)} is not a cron expression (minute hour day month weekday, e.g. "* 1-4 * * 1-5")`);
    }
    this.tasks = expressions.map((e) => createTask(e, () => {}));
  }

  /**
   * True when there are no windows, or `at` falls in one. A window's unit is the minute: node-cron also
   * matches seconds (a five-field expression means second 0), so `at` is taken at the start of its minute.
   */
  isOpen(at: Date): boolean {
    const minute = new Date(Math.floor(at.getTime() / 60_000) * 60_000);
    return this.tasks.length === 0 || this.tasks.some((t) => t.match(minute));
  }

  /** The first minute after `from` in which a window is open, looking up to 31 days ahead. */
  nextOpening(from: Date): Date | undefined {
    const minute = 60_000;
    const start = Math.floor(from.getTime() / minute) * minute + minute;
    for (let t = start; t < start + 31 * 24 * 60 * minute; t += minute) {
      const at = new Date(t);
      if (this.isOpen(at)) return at;
    }
    return undefined;
  }

  close(): void {
    for (const t of this.tasks) void t.destroy();
  }
}
