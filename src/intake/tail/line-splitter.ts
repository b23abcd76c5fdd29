/** One line cut out of a byte stream. */
export interface SplitLine {
  /** Decoded text without the newline; invalid UTF-8 becomes U+FFFD. */
  text: string;
  /** Byte offset just after this line's newline (or after its last byte, for a flushed partial line). */
  endOffset: number;
  /** 1-based line number, when the splitter was told where it started. */
  lineNo?: number;
  /** Bytes dropped from the end of an over-long line (0 normally). */
  droppedBytes: number;
  /** True for a last line that never got its newline (see {@link LineSplitter.flush}). */
  partial: boolean;
}

/** Options of {@link LineSplitter}. */
export interface LineSplitterOptions {
  /** Byte offset of the first byte that will be pushed. */
  startOffset: number;
  /** Line number of the line before the first pushed byte (0 at the start of a file); undefined when unknown. */
  linesBefore?: number | undefined;
  /** The bytes just before `startOffset`, when known (see {@link LineSplitter.tail}). */
  tail?: Buffer | undefined;
  /** Longest line kept; the rest of a longer line is dropped and counted. Default 1 MiB. */
  maxLineBytes?: number;
}

const NEWLINE = 0x0a;
/** How many bytes before the resume offset serve as its fingerprint. */
export const TAIL_BYTES = 64;

/**
 * Cuts a byte stream into lines: complete lines come out as soon as their newline is in, a partial
 * last line is held until its newline arrives. Never throws on content (lossy UTF-8 decoding).
 * Pure: no I/O.
 */
export class LineSplitter {
  readonly #max: number;
  readonly #decoder = new TextDecoder("utf-8", { fatal: false });
  #parts: Buffer[] = [];
  #partBytes = 0;
  #dropped = 0;
  #offset: number;
  #committed: number;
  #lineNo: number | undefined;
  #tail: Buffer;

  constructor(options: LineSplitterOptions) {
    this.#max = options.maxLineBytes ?? 1024 * 1024;
    this.#offset = options.startOffset;
    this.#committed = options.startOffset;
    this.#lineNo = options.linesBefore;
    this.#tail = options.tail ?? Buffer.alloc(0);
  }

  /**
   * Some of the last bytes (at most {@link TAIL_BYTES}) before {@link committedOffset}, newline
   * included: a fingerprint that tells whether the file still holds what was read (empty at first).
   */
  get tail(): Buffer {
    return this.#tail;
  }

  /** Offset just after the last complete line: where a restart must resume. */
  get committedOffset(): number {
    return this.#committed;
  }

  /** Offset just after the last byte pushed. */
  get offset(): number {
    return this.#offset;
  }

  /** Line number of the last complete line, when known. */
  get lineNo(): number | undefined {
    return this.#lineNo;
  }

  /** Bytes of the partial line held back (including dropped ones). */
  get pendingBytes(): number {
    return this.#partBytes + this.#dropped;
  }

  /** Feeds the next bytes of the stream; returns the lines they complete. */
  push(chunk: Buffer): SplitLine[] {
    const out: SplitLine[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl < 0) break;
      this.#keep(chunk.subarray(start, nl));
      this.#offset += nl + 1 - start;
      out.push(this.#emit(false));
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.#keep(chunk.subarray(start));
      this.#offset += chunk.length - start;
    }
    return out;
  }

  /** Emits the held partial line, if any (its file will get no more bytes). */
  flush(): SplitLine | undefined {
    if (this.pendingBytes === 0) return undefined;
    return this.#emit(true);
  }

  #keep(bytes: Buffer): void {
    const room = this.#max - this.#partBytes;
    if (room >= bytes.length) {
      if (bytes.length > 0) {
        // Copy: the caller reuses its read buffer.
        this.#parts.push(Buffer.from(bytes));
        this.#partBytes += bytes.length;
      }
      return;
    }
    if (room > 0) {
      this.#parts.push(Buffer.from(bytes.subarray(0, room)));
      this.#partBytes += room;
    }
    this.#dropped += bytes.length - Math.max(room, 0);
  }

  #emit(partial: boolean): SplitLine {
    const bytes = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#partBytes);
    const line: SplitLine = {
      text: this.#decoder.decode(bytes),
      endOffset: this.#offset,
      droppedBytes: this.#dropped,
      partial,
    };
    if (this.#lineNo !== undefined) {
      this.#lineNo += 1;
      line.lineNo = this.#lineNo;
    }
    // Dropped bytes are not kept, so an over-long line contributes only its newline to the fingerprint.
    const own = this.#dropped > 0 ? Buffer.alloc(0) : bytes;
    const withNl = partial ? own : Buffer.concat([own, Buffer.of(NEWLINE)]);
    const joined = withNl.length >= TAIL_BYTES || this.#dropped > 0 ? withNl : Buffer.concat([this.#tail, withNl]);
    this.#tail = Buffer.from(joined.subarray(Math.max(0, joined.length - TAIL_BYTES)));
    this.#parts = [];
    this.#partBytes = 0;
    this.#dropped = 0;
    this.#committed = this.#offset;
    return line;
  }
}
