import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";

/** Where a follower stands in one file. */
interface Position {
  ino: number;
  offset: number;
  /** An incomplete last line, kept until its newline arrives. */
  partial: string;
}

/**
 * Reads the complete lines appended to files since the last call, per file: a file that shrank
 * (`copytruncate`) or was replaced (new inode) is read again from the start.
 */
export class FileFollower {
  private readonly positions = new Map<string, Position>();

  /**
   * Starts following `file` at its current end, so only lines written from now on are returned (used for
   * counters, which must start at zero). Missing files start at their beginning once they appear.
   */
  skipToEnd(file: string): void {
    try {
      const st = statSync(file);
      this.positions.set(file, { ino: st.ino, offset: st.size, partial: "" });
    } catch {
      // not there yet
    }
  }

  /** The new complete lines of `file` (empty when it is missing or unchanged). */
  newLines(file: string): string[] {
    let fd: number;
    try {
      fd = openSync(file, "r");
    } catch {
      return [];
    }
    try {
      const st = fstatSync(fd);
      let pos = this.positions.get(file);
      if (pos === undefined || pos.ino !== st.ino || st.size < pos.offset) pos = { ino: st.ino, offset: 0, partial: "" };
      const chunks: Buffer[] = [];
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, pos.offset);
        if (n <= 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
        pos.offset += n;
      }
      const text = pos.partial + Buffer.concat(chunks).toString("utf8");
      const lines = text.split("\n");
      pos.partial = lines.pop() ?? "";
      this.positions.set(file, pos);
      return lines;
    } finally {
      closeSync(fd);
    }
  }
}
