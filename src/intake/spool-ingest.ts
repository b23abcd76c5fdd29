import { type FSWatcher, watch } from "node:fs";
import { mkdir, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { isPatchrollError } from "../errors/patchroll-error.js";
import type { Logger } from "../log/logger.js";
import { isIncompleteRecord, isSpoolRecordName, MAX_SPOOL_RECORD_BYTES, parseSpoolRecord, type SpoolRecord } from "./spool-record.js";

export interface SpoolIngestOptions {
  /** The dir the apt hooks write to (`config.spoolDir`); created when missing. */
  spoolDir: string;
  /** Takes one record (e.g. into Redis). The record's file is deleted only after this resolves. */
  onRecord: (rec: SpoolRecord) => Promise<void>;
  /** Safety-net rescan period, for events fs.watch missed. Default 5000 ms. */
  rescanMs?: number;
  /** First retry delay after onRecord rejected; doubles up to `retryMaxMs`. Default 250 ms. */
  retryMinMs?: number;
  /** Longest retry delay. Default 30 000 ms. */
  retryMaxMs?: number;
  /** Hook temp files older than this are left over from a killed hook and removed. Default 1 hour. */
  staleTempMs?: number;
  /**
   * A record without its end line is left alone (a hook may be writing it) until it is this old, then
   * quarantined as truncated. Default 30 000 ms (a hook takes milliseconds).
   */
  incompleteGraceMs?: number;
  /** How soon to look again at a record found incomplete. Default 10 ms. */
  incompleteRecheckMs?: number;
  logger: Logger;
}

/** Sub-directory of the spool dir that receives records that cannot be parsed. */
export const CORRUPT_DIR = "corrupt";

/**
 * Moves apt hook records from the spool dir into patchroll, at least once each: oldest first (by mtime:
 * the time the hook wrote it), one at a time, deleting a record only after `onRecord` resolved. A record
 * still being written (no end line yet) is left for a moment. When onRecord
 * rejects (Redis down) the record stays and is retried with exponential backoff, blocking the ones after
 * it so records keep their order. A record that cannot be parsed is moved to `corrupt/` with one log line,
 * never dropped. Notices new records at once through fs.watch, with a periodic rescan as a safety net.
 */
export class SpoolIngest {
  private readonly opts: Required<Omit<SpoolIngestOptions, "logger" | "onRecord">>;
  private watcher: FSWatcher | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = 0;
  private running = false;
  private draining: Promise<void> | undefined = undefined;
  private again = false;
  private pending = 0;
  private recheckTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SpoolIngestOptions) {
    this.opts = {
      spoolDir: options.spoolDir,
      rescanMs: options.rescanMs ?? 5_000,
      retryMinMs: options.retryMinMs ?? 250,
      retryMaxMs: options.retryMaxMs ?? 30_000,
      staleTempMs: options.staleTempMs ?? 3_600_000,
      incompleteGraceMs: options.incompleteGraceMs ?? 30_000,
      incompleteRecheckMs: options.incompleteRecheckMs ?? 10,
    };
  }

  /** Creates the spool dir if needed, starts watching, and starts processing what is already there. */
  async start(): Promise<void> {
    if (this.running) return;
    await mkdir(join(this.opts.spoolDir, CORRUPT_DIR), { recursive: true, mode: 0o750 });
    this.running = true;
    try {
      this.watcher = watch(this.opts.spoolDir, { persistent: false }, () => this.kick());
      this.watcher.on("error", (err) => {
        this.options.logger.warn({ err, spoolDir: this.opts.spoolDir }, "spool dir watch failed; relying on the periodic rescan");
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      this.options.logger.warn({ err, spoolDir: this.opts.spoolDir }, "cannot watch the spool dir; relying on the periodic rescan");
    }
    this.rescanTimer = setInterval(() => this.kick(), this.opts.rescanMs);
    this.rescanTimer.unref();
    this.kick();
  }

  /** Stops watching and waits for the record being processed, if any; the rest stay in the spool. */
  async stop(): Promise<void> {
    this.running = false;
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.rescanTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.recheckTimer);
    this.retryTimer = undefined;
    await this.draining;
  }

  /** Resolves when the spool has been drained once since this call (or processing paused on a failure). */
  async drained(): Promise<void> {
    if (!this.running) return;
    await this.draining;
    this.kick();
    await this.draining;
  }

  /** Records waiting in the spool as of the last scan, minus those processed since. */
  backlog(): number {
    return this.pending;
  }

  /** Asks for a drain; while one runs, it scans once more when done. Nothing happens during a retry wait. */
  private kick(): void {
    if (!this.running || this.retryTimer !== undefined) return;
    if (this.draining !== undefined) {
      this.again = true;
      return;
    }
    this.draining = this.drain()
      .catch((err: unknown) => {
        this.options.logger.error({ err, spoolDir: this.opts.spoolDir }, "spool ingest failed; retrying at the next rescan");
      })
      .finally(() => {
        this.draining = undefined;
      });
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      const names = await this.scan();
      this.pending = names.length;
      for (const name of names) {
        if (!this.running) return;
        const outcome = await this.processOne(name);
        if (outcome === "paused") return;
        if (outcome === "later") this.recheckSoon();
        else this.pending = Math.max(0, this.pending - 1);
      }
    } while (this.again && this.running);
  }

  private recheckSoon(): void {
    if (this.recheckTimer !== undefined) return;
    this.recheckTimer = setTimeout(() => {
      this.recheckTimer = undefined;
      this.kick();
    }, this.opts.incompleteRecheckMs);
    this.recheckTimer.unref();
  }

  /** Record names, oldest first (mtime, then name); removes hook temp files left over from a killed hook. */
  private async scan(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.opts.spoolDir);
    } catch (err) {
      this.options.logger.error({ err, spoolDir: this.opts.spoolDir }, "cannot read the spool dir; retrying at the next rescan");
      return [];
    }
    for (const name of names.filter((n) => n.startsWith(".tmp-"))) await this.removeIfStale(name);
    const found: { name: string; mtimeNs: bigint }[] = [];
    for (const name of names.filter(isSpoolRecordName)) {
      try {
        found.push({ name, mtimeNs: (await stat(join(this.opts.spoolDir, name), { bigint: true })).mtimeNs });
      } catch {
        // taken meanwhile
      }
    }
    return found.sort((a, b) => (a.mtimeNs < b.mtimeNs ? -1 : a.mtimeNs > b.mtimeNs ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((f) => f.name);
  }

  private async removeIfStale(name: string): Promise<void> {
    const file = join(this.opts.spoolDir, name);
    try {
      const st = await stat(file);
      if (Date.now() - st.mtimeMs < this.opts.staleTempMs) return;
      await unlink(file);
      this.options.logger.warn({ file }, "removed a hook temp file left over from a killed apt hook");
    } catch {
      // gone meanwhile: nothing to do
    }
  }

  /** Processes one record: done (taken or quarantined), later (still being written), paused (onRecord rejected). */
  private async processOne(name: string): Promise<"done" | "later" | "paused"> {
    const file = join(this.opts.spoolDir, name);
    let record: SpoolRecord;
    try {
      const st = await stat(file, { bigint: true });
      if (st.size > BigInt(MAX_SPOOL_RECORD_BYTES)) {
        await this.quarantine(name, `record is ${st.size} bytes, more than the ${MAX_SPOOL_RECORD_BYTES} a hook writes`);
        return "done";
      }
      const text = await readFile(file, "utf8");
      if (isIncompleteRecord(text) && Date.now() - Number(st.mtimeMs) < this.opts.incompleteGraceMs) return "later";
      record = parseSpoolRecord(text, file, st.mtimeNs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return "done";
      if (!isPatchrollError(err, "SPOOL_RECORD_INVALID")) throw err;
      await this.quarantine(name, err.message);
      return "done";
    }
    try {
      await this.options.onRecord(record);
    } catch (err) {
      this.retryDelay = Math.min(this.opts.retryMaxMs, this.retryDelay === 0 ? this.opts.retryMinMs : this.retryDelay * 2);
      this.options.logger.warn({ err, file, retryInMs: this.retryDelay }, "could not take a spool record (Redis down?); it stays in the spool and is retried");
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.kick();
      }, this.retryDelay);
      this.retryTimer.unref();
      return "paused";
    }
    this.retryDelay = 0;
    try {
      await unlink(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    return "done";
  }

  private async quarantine(name: string, reason: string): Promise<void> {
    const target = join(this.opts.spoolDir, CORRUPT_DIR, name);
    await mkdir(join(this.opts.spoolDir, CORRUPT_DIR), { recursive: true, mode: 0o750 });
    await rename(join(this.opts.spoolDir, name), target);
    this.options.logger.error({ file: target, reason }, `corrupt spool record moved to ${target}: ${reason}; dpkg.log reconciliation covers its apt run`);
  }
}
