import type { UuDpkgBlock } from "./dpkg-blocks.js";
import type { UuLogEntry, UuMessage } from "./parse.js";
import { closeRun, hasVerdict, type OpenRun, type UuRun } from "./run.js";

/** Serializable state of a {@link UuRunTracker}: the run in progress and dpkg blocks not yet placed. */
export interface UuTrackerState {
  open?: OpenRun | undefined;
  pendingBlocks: UuDpkgBlock[];
}

const MAX_PENDING_BLOCKS = 50;
const MAX_ERROR_CHARS = 4000;
const MAX_ERRORS = 50;

/**
 * Turns parsed unattended-upgrades log entries (and dpkg blocks) into runs. Pure state machine: no
 * clock, no I/O; its state is plain JSON (snapshot/restore) so a daemon restart keeps a run in progress.
 *
 * The main log has no "run finished" line: a run ends when the next one starts, or when the caller
 * decides the logs have been quiet long enough ({@link settle}) after a verdict line.
 */
export class UuRunTracker {
  #s: UuTrackerState;

  constructor(state?: UuTrackerState) {
    this.#s = state ? structuredClone(state) : { pendingBlocks: [] };
  }

  /** Plain-JSON copy of the state. */
  snapshot(): UuTrackerState {
    return structuredClone(this.#s);
  }

  /** True while a run has started and not been closed. */
  get inRun(): boolean {
    return this.#s.open !== undefined;
  }

  /** When the run in progress started (ISO 8601), if one is. */
  get openSince(): string | undefined {
    return this.#s.open?.startedAt;
  }

  /** True when the run in progress has logged its verdict (so {@link settle} would close it). */
  get settled(): boolean {
    return this.#s.open !== undefined && hasVerdict(this.#s.open);
  }

  /** Feeds one main-log entry; returns runs it completed (a start line completes the previous run). */
  push(entry: UuLogEntry): UuRun[] {
    const open = this.#s.open;
    if (entry.type === "continuation") {
      if (open && open.continuing >= 0) {
        const e = open.errors[open.continuing]!;
        if (e.length < MAX_ERROR_CHARS) open.errors[open.continuing] = `${e}\n${entry.text}`.slice(0, MAX_ERROR_CHARS);
      }
      return [];
    }
    if (entry.kind === "start") {
      if (open === undefined) {
        this.#open(entry, []);
        return [];
      }
      // dpkg blocks read ahead of the main log may belong to this new run: those that started after it did.
      const since = secondOf(entry.time);
      const later = open.blocks.filter((b) => secondOf(b.startedAt) >= since);
      open.blocks = open.blocks.filter((b) => secondOf(b.startedAt) < since);
      this.#open(entry, later);
      return [closeRun(open)];
    }
    if (open === undefined) return [];
    open.lastAt = entry.time;
    open.continuing = -1;
    apply(open, entry);
    return [];
  }

  /** Feeds one dpkg block; it joins the run in progress when it started during it. */
  pushBlock(block: UuDpkgBlock): void {
    const open = this.#s.open;
    if (open && secondOf(block.startedAt) >= secondOf(open.startedAt)) {
      open.blocks.push(block);
      return;
    }
    // The dpkg log may be read before the main log's start line: keep the block for the next run.
    this.#s.pendingBlocks.push(block);
    if (this.#s.pendingBlocks.length > MAX_PENDING_BLOCKS) this.#s.pendingBlocks.shift();
  }

  /** Closes the run in progress if it has logged its verdict; call when the logs have been quiet. */
  settle(): UuRun | undefined {
    const open = this.#s.open;
    if (open === undefined || !hasVerdict(open)) return undefined;
    // A run's dpkg steps all start before its verdict line; later blocks were read ahead of the main
    // log and belong to the next run.
    const last = secondOf(open.lastAt);
    this.#s.pendingBlocks.push(...open.blocks.filter((b) => secondOf(b.startedAt) > last));
    open.blocks = open.blocks.filter((b) => secondOf(b.startedAt) <= last);
    this.#s.open = undefined;
    return closeRun(open);
  }

  /** Closes the run in progress whatever its state (its outcome says when it has no verdict). */
  finish(): UuRun | undefined {
    const open = this.#s.open;
    if (open === undefined) return undefined;
    this.#s.open = undefined;
    return closeRun(open);
  }

  #open(start: UuMessage, carried: UuDpkgBlock[]): void {
    const since = secondOf(start.time);
    const blocks = [...carried, ...this.#s.pendingBlocks.filter((b) => secondOf(b.startedAt) >= since)];
    this.#s.pendingBlocks = [];
    this.#s.open = {
      startedAt: start.time,
      lastAt: start.time,
      origins: [],
      packages: [],
      keptBack: [],
      conffilePrompt: [],
      markFailed: [],
      autoRemoved: [],
      errors: [],
      continuing: -1,
      dryRun: false,
      rebootRequired: false,
      allInstalled: false,
      nothingToDo: false,
      installFailed: false,
      autoremoveFailed: false,
      blocks,
      ref: start.ref,
    };
  }
}

/** What one message changes in the run in progress. */
function apply(r: OpenRun, e: UuMessage): void {
  const f = e.fields;
  switch (e.kind) {
    case "allowed-origins":
      addAll(r.origins, f.origins);
      break;
    case "will-upgrade":
      addAll(r.packages, f.packages);
      break;
    case "dry-run":
      r.dryRun = true;
      break;
    case "all-installed":
      r.allInstalled = true;
      break;
    case "nothing-to-do":
      r.nothingToDo = true;
      break;
    case "install-failed":
      r.installFailed = true;
      break;
    case "error-message":
      if (f.detail !== undefined) r.errorDetail ??= f.detail;
      break;
    case "fatal":
      r.fatal ??= f.reason ?? e.message;
      break;
    case "interrupted":
      r.interrupted ??= f.detail ?? e.message;
      break;
    case "kept-back":
    case "not-upgraded":
      addAll(r.keptBack, f.pkg === undefined ? [] : [f.pkg]);
      break;
    case "conffile-prompt":
      addAll(r.keptBack, f.pkg === undefined ? [] : [f.pkg]);
      addAll(r.conffilePrompt, f.pkg === undefined ? [] : [f.pkg]);
      break;
    case "mark-failed":
      addAll(r.keptBack, f.pkg === undefined ? [] : [f.pkg]);
      addAll(r.markFailed, f.pkg === undefined ? [] : [f.pkg]);
      break;
    case "auto-removed":
      addAll(r.autoRemoved, f.packages);
      break;
    case "autoremove-failed":
      r.autoremoveFailed = true;
      break;
    case "reboot-required":
      r.rebootRequired = true;
      break;
    default:
      break;
  }
  if ((e.level === "ERROR" || e.level === "CRITICAL" || e.level === "WARNING") && e.kind !== "skipped" && r.errors.length < MAX_ERRORS) {
    r.errors.push(e.message.slice(0, MAX_ERROR_CHARS));
    r.continuing = r.errors.length - 1;
  }
}

function addAll(into: string[], items: string[] | undefined): void {
  for (const i of items ?? []) if (!into.includes(i)) into.push(i);
}

/** ISO time truncated to the second: dpkg blocks carry no milliseconds. */
function secondOf(iso: string): string {
  return iso.slice(0, 19);
}
