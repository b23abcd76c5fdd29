import { watch, type FSWatcher } from "node:fs";
import { open, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { hashTail, loadFollowerCheckpoint, saveFollowerCheckpoint, type FollowerCheckpoint } from "./checkpoint.js";
import { LineSplitter, TAIL_BYTES, type SplitLine } from "./line-splitter.js";
import { warningAt, type FollowedLine, type ParseWarning } from "./line.js";
import { findContinuation, matches, type Fingerprint } from "./rotated.js";

/** Options of {@link LogFollower}. */
export interface LogFollowerOptions {
  /** The log file to follow; it need not exist yet. */
  path: string;
  /**
   * Receives each batch of complete lines, in file order. The checkpoint moves past a batch only after
   * this returns (or its promise resolves). It should not throw: an error goes to `onError` and the
   * batch counts as delivered.
   */
  onLines: (lines: FollowedLine[]) => void | Promise<void>;
  /** JSON file keeping (dev, inode, offset) across restarts. Without it every start is a first start. */
  checkpointFile?: string | undefined;
  /** Where a first start (no checkpoint) begins in an existing file. Default "end". A file created later is read from its start. */
  startAt?: "start" | "end";
  /** Safety-net poll interval next to fs.watch, ms. Default 1000. */
  pollMs?: number;
  /** After a rename rotation, how long the old file is still read while the new one stays empty, ms. Default 2000. */
  rotateGraceMs?: number;
  /** Longest line kept, bytes; the rest is dropped with a warning. Default 1 MiB. */
  maxLineBytes?: number;
  /** Problems that lose or damage lines (over-long line, lost rotation); the follower goes on. */
  onWarning?: (warning: ParseWarning) => void;
  /** Unexpected errors (I/O, a throwing `onLines`); the follower goes on at the next poll. */
  onError?: (err: unknown) => void;
  /** React to fs.watch events on the directory (besides polling). Default true. */
  watch?: boolean;
  /** Clock for the rotation grace period. Default Date.now. */
  now?: () => number;
}

interface OpenLog {
  fh: FileHandle;
  dev: bigint;
  ino: bigint;
  splitter: LineSplitter;
  /** When the path was first seen pointing elsewhere (rename rotation or deletion). */
  rotatedAt?: number;
}

const CHUNK = 64 * 1024;

/**
 * Follows one log file through rename rotation (`create`, `delaycompress`) and `copytruncate`,
 * like `tail -F` but resumable: the position is kept as (dev, inode, offset) in a checkpoint file so a
 * restart neither loses nor repeats lines, reading the rotated `PATH.1` first when the file was rotated
 * while stopped. Partial last lines wait for their newline; invalid UTF-8 is decoded lossily.
 */
export class LogFollower {
  readonly #o: Required<Omit<LogFollowerOptions, "checkpointFile">> & { checkpointFile: string | undefined };
  #cur: OpenLog | undefined;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;
  #lastCheckpoint: FollowerCheckpoint | undefined;

  constructor(options: LogFollowerOptions) {
    this.#o = {
      startAt: "end",
      pollMs: 1000,
      rotateGraceMs: 2000,
      maxLineBytes: 1024 * 1024,
      onWarning: () => {},
      onError: () => {},
      now: Date.now,
      watch: true,
      ...options,
      checkpointFile: options.checkpointFile,
    };
  }

  /** The followed path. */
  get path(): string {
    return this.#o.path;
  }

  /** The position last written to the checkpoint file (or that would have been, without one). */
  get checkpoint(): FollowerCheckpoint | undefined {
    return this.#lastCheckpoint;
  }

  /** Resumes from the checkpoint (reading what was written meanwhile), then follows the file. */
  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    await this.#serial(() => this.#resume());
    if (this.#o.watch) this.#watch();
    this.#timer = setInterval(() => this.#kick(), this.#o.pollMs);
    this.#timer.unref();
  }

  /** Reads everything the file holds now; resolves when those lines were delivered. */
  async poll(): Promise<void> {
    await this.#serial(() => this.#tick());
  }

  /** Stops following: waits for the read in progress, saves the checkpoint, closes the file. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#watcher?.close();
    this.#watcher = undefined;
    while (this.#running) await this.#running;
    if (this.#cur) {
      await this.#save(this.#cur);
      await this.#cur.fh.close();
      this.#cur = undefined;
    }
  }

  #kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    void this.#serial(() => this.#tick());
  }

  /** Runs `fn` after the read in progress, never two at once; errors go to onError. */
  async #serial(fn: () => Promise<void>): Promise<void> {
    while (this.#running) await this.#running;
    const run = (async () => {
      try {
        do {
          this.#again = false;
          await fn();
        } while (this.#again && !this.#stopped);
      } catch (err) {
        this.#o.onError(err);
      }
    })();
    this.#running = run;
    try {
      await run;
    } finally {
      if (this.#running === run) this.#running = undefined;
    }
  }

  #watch(): void {
    // Watch the directory, not the file: rename rotation replaces the file under the same name.
    try {
      const name = basename(this.#o.path);
      this.#watcher = watch(dirname(this.#o.path), { persistent: false }, (_event, file) => {
        if (file === null || file.startsWith(name)) this.#kick();
      });
      this.#watcher.on("error", () => {
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch {
      // The directory may not exist yet: polling covers it.
    }
  }

  async #resume(): Promise<void> {
    const cp = await this.#loadCheckpoint();
    const st = await statOrNull(this.#o.path);
    if (cp === undefined) {
      if (st === null) {
        await this.#saveAbsent();
        return;
      }
      const atEnd = this.#o.startAt === "end";
      await this.#openCurrent(atEnd ? undefined : 0, atEnd ? undefined : 0);
      return;
    }
    if (st !== null && sameFile(st, cp)) {
      const cur = await this.#open(this.#o.path, cp.offset, cp.lineNo ?? undefined, cp);
      if (cur !== undefined) {
        this.#cur = cur;
        await this.#readToEof(cur);
        return;
      }
      // Same inode, other bytes before our offset: truncated (copytruncate) while we were stopped.
    }
    // Rotated (or truncated) while we were stopped: the rest of what we were reading is in PATH.1.
    if (cp.ino !== "0") await this.#recover(cp.offset, cp.lineNo ?? undefined, cp);
    if (st !== null) await this.#openCurrent(0, 0);
  }

  async #tick(): Promise<void> {
    if (this.#cur === undefined) {
      if ((await statOrNull(this.#o.path)) === null) return;
      await this.#openCurrent(0, 0);
    }
    const cur: OpenLog = this.#cur!;
    const st = await statOrNull(this.#o.path);
    if (st !== null && st.dev === cur.dev && st.ino === cur.ino) {
      // Check before reading: after copytruncate the file may already have grown past our offset again.
      if (await isTruncated(cur)) await this.#onTruncated(cur);
      else await this.#readToEof(cur);
      return;
    }
    // The path now names another file (rename rotation) or nothing. With `delaycompress` the writer may
    // still append to the old inode for a moment: keep reading it until the new file gets data.
    cur.rotatedAt ??= this.#o.now();
    await this.#readToEof(cur);
    const newHasData = st !== null && st.size > 0n;
    if (!newHasData && this.#o.now() - cur.rotatedAt < this.#o.rotateGraceMs) return;
    // The new file has data, so the writer has moved on: what the old inode holds now is all it gets.
    await this.#readToEof(cur);
    await this.#flushPartial(cur);
    await cur.fh.close();
    this.#cur = undefined;
    if (st !== null) await this.#openCurrent(0, 0);
  }

  /** copytruncate: the lines after our offset went to PATH.1; read them there, then restart at 0. */
  async #onTruncated(cur: OpenLog): Promise<void> {
    const recovered = await this.#recover(cur.splitter.committedOffset, cur.splitter.lineNo, { tail: cur.splitter.tail });
    if (!recovered) await this.#flushPartial(cur);
    cur.splitter = new LineSplitter({ startOffset: 0, linesBefore: 0, maxLineBytes: this.#o.maxLineBytes });
    await this.#save(cur);
    await this.#readToEof(cur);
  }

  /** Delivers the rest of the rotated copy that continues at `offset`; false (and a warning) when none does. */
  async #recover(offset: number, lineNo: number | undefined, fp: Fingerprint): Promise<boolean> {
    const cont = await findContinuation(this.#o.path, offset, fp);
    if (cont === undefined) {
      this.#warn(`${this.#o.path} was rotated or truncated and no rotated copy continues where reading stopped; lines may be lost`);
      return false;
    }
    const splitter = new LineSplitter({ startOffset: offset, linesBefore: lineNo, maxLineBytes: this.#o.maxLineBytes });
    const lines = splitter.push(cont.rest);
    const last = splitter.flush();
    if (last !== undefined) lines.push(last);
    await this.#deliver(cont.file, lines);
    return true;
  }

  /** Opens the followed path at `offset` (undefined: its end) as the current file and reads it. */
  async #openCurrent(offset: number | undefined, linesBefore: number | undefined): Promise<void> {
    const cur = (await this.#open(this.#o.path, offset, linesBefore))!;
    this.#cur = cur;
    await this.#save(cur);
    await this.#readToEof(cur);
  }

  /**
   * Opens `path` at `offset` (undefined: its end). With a fingerprint, returns undefined (file closed)
   * when the bytes before `offset` are not the remembered ones.
   */
  async #open(path: string, offset: number | undefined, linesBefore: number | undefined, fp?: Fingerprint): Promise<OpenLog | undefined> {
    const fh = await open(path, "r");
    try {
      const st = await fh.stat({ bigint: true });
      const at = offset ?? Number(st.size);
      const want = fp === undefined ? Math.min(at, TAIL_BYTES) : "tail" in fp ? fp.tail.length : fp.tailLength;
      const tail = await readExactly(fh, at - want, want);
      if (fp !== undefined && (tail === undefined || !matches(tail, tail.length, fp))) {
        await fh.close();
        return undefined;
      }
      const splitter = new LineSplitter({ startOffset: at, linesBefore, tail: tail ?? Buffer.alloc(0), maxLineBytes: this.#o.maxLineBytes });
      return { fh, dev: st.dev, ino: st.ino, splitter };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async #readToEof(f: OpenLog): Promise<void> {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await f.fh.read(buf, 0, CHUNK, f.splitter.offset);
      if (bytesRead === 0) return;
      await this.#deliver(this.#o.path, f.splitter.push(buf.subarray(0, bytesRead)));
      await this.#save(f);
    }
  }

  async #flushPartial(f: OpenLog): Promise<void> {
    const line = f.splitter.flush();
    if (line === undefined) return;
    await this.#deliver(this.#o.path, [line]);
    await this.#save(f);
  }

  async #deliver(file: string, lines: SplitLine[]): Promise<void> {
    if (lines.length === 0) return;
    const out: FollowedLine[] = lines.map((l) => {
      const ref = l.lineNo === undefined ? { file } : { file, lineNo: l.lineNo };
      if (l.droppedBytes > 0) this.#o.onWarning(warningAt(ref, `line longer than ${this.#o.maxLineBytes} bytes; ${l.droppedBytes} bytes dropped`));
      return { line: l.text, ...ref };
    });
    try {
      await this.#o.onLines(out);
    } catch (err) {
      this.#o.onError(err);
    }
  }

  async #save(f: OpenLog): Promise<void> {
    const tail = f.splitter.tail;
    const cp: FollowerCheckpoint = {
      v: 1,
      path: this.#o.path,
      dev: f.dev.toString(),
      ino: f.ino.toString(),
      offset: f.splitter.committedOffset,
      lineNo: f.splitter.lineNo ?? null,
      tailSha256: hashTail(tail),
      tailLength: tail.length,
    };
    await this.#write(cp);
  }

  /** Records "running, file absent": a file that appears while we are stopped is then read from its start. */
  async #saveAbsent(): Promise<void> {
    const empty = Buffer.alloc(0);
    await this.#write({ v: 1, path: this.#o.path, dev: "0", ino: "0", offset: 0, lineNo: 0, tailSha256: hashTail(empty), tailLength: 0 });
  }

  async #write(cp: FollowerCheckpoint): Promise<void> {
    const last = this.#lastCheckpoint;
    this.#lastCheckpoint = cp;
    if (this.#o.checkpointFile === undefined) return;
    if (last && last.ino === cp.ino && last.dev === cp.dev && last.offset === cp.offset && last.tailSha256 === cp.tailSha256) return;
    await saveFollowerCheckpoint(this.#o.checkpointFile, cp);
  }

  async #loadCheckpoint(): Promise<FollowerCheckpoint | undefined> {
    if (this.#o.checkpointFile === undefined) return undefined;
    const read = await loadFollowerCheckpoint(this.#o.checkpointFile);
    if (read.kind === "invalid") {
      this.#warn(`checkpoint ${this.#o.checkpointFile} is unreadable (${read.reason}); starting as on a first start`);
      return undefined;
    }
    if (read.kind === "missing") return undefined;
    if (read.value.path !== this.#o.path) {
      this.#warn(`checkpoint ${this.#o.checkpointFile} belongs to ${read.value.path}, not ${this.#o.path}; ignoring it`);
      return undefined;
    }
    return read.value;
  }

  #warn(message: string): void {
    this.#o.onWarning({ file: this.#o.path, message });
  }
}

async function statOrNull(path: string): Promise<import("node:fs").BigIntStats | null> {
  try {
    return await stat(path, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

function sameFile(st: { dev: bigint; ino: bigint }, cp: FollowerCheckpoint): boolean {
  return st.dev.toString() === cp.dev && st.ino.toString() === cp.ino;
}

/** Exactly `length` bytes at `position`, or undefined when the file is shorter. */
async function readExactly(fh: FileHandle, position: number, length: number): Promise<Buffer | undefined> {
  if (position < 0) return undefined;
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) return undefined;
    got += bytesRead;
  }
  return buf;
}

/** Truncated below what we read, or refilled with other bytes before our offset (copytruncate). */
async function isTruncated(f: OpenLog): Promise<boolean> {
  const st = await f.fh.stat({ bigint: true });
  if (Number(st.size) < f.splitter.offset) return true;
  const tail = f.splitter.tail;
  if (tail.length === 0) return false;
  const now = await readExactly(f.fh, f.splitter.committedOffset - tail.length, tail.length);
  return now === undefined || !now.equals(tail);
}
