import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";

/**
 * prspawn's protocol (native/prspawn.c's header comment) spoken directly, byte for byte, so that a test can
 * send it what src/proc/run-tool.ts never would: frames cut anywhere, inconsistent counts, unknown types.
 */

/** A frame: u32 little-endian length of BODY, then BODY. */
export function frame(body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** The body of an 'R' request with these counts, followed by STRINGS as given (NUL-terminate them yourself). */
export function runBody(id: number, timeoutMs: number, graceMs: number, argc: number, envc: number, strings: Buffer): Buffer {
  const head = Buffer.alloc(21);
  head.write("R", 0, "latin1");
  [id, timeoutMs, graceMs, argc, envc].forEach((v, i) => head.writeUInt32LE(v >>> 0, 1 + 4 * i));
  return Buffer.concat([head, strings]);
}

/** A well-formed 'R' request, as run-tool.ts sends it. */
export function runFrame(id: number, argv: readonly string[], env: readonly string[] = ["PATH=/usr/bin:/bin"], timeoutMs = 0, graceMs = 0): Buffer {
  return frame(runBody(id, timeoutMs, graceMs, argv.length, env.length, Buffer.from([...argv, ...env].map((s) => `${s}\0`).join(""))));
}

/** A 'K' request: SIGNAL to the run ID. */
export function killFrame(id: number, signal: number): Buffer {
  const body = Buffer.alloc(9);
  body.write("K", 0, "latin1");
  body.writeUInt32LE(id >>> 0, 1);
  body.writeUInt32LE(signal >>> 0, 5);
  return frame(body);
}

export interface Reply {
  type: string;
  id: number;
  /** 'P': [pid]; 'F': [errno]; 'X': [code, signal, flags, outlen, errlen]. */
  fields: number[];
  out: Buffer;
  err: Buffer;
}

/** One prspawn process, its replies parsed as they come. */
export class PrspawnDriver {
  readonly child: ChildProcessWithoutNullStreams;
  readonly replies: Reply[] = [];
  stderr = "";
  /** Bytes after the last whole reply (a reply cut short shows here at exit). */
  rest: Buffer = Buffer.alloc(0);
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: (() => void)[] = [];

  constructor(binary: string, env: NodeJS.ProcessEnv = process.env, wrapper: readonly string[] = []) {
    const [file, ...args] = [...wrapper, binary];
    this.child = spawn(file!, args, { stdio: ["pipe", "pipe", "pipe"], env });
    this.child.stdin.on("error", () => {});
    this.child.stderr.on("data", (b: Buffer) => (this.stderr += b.toString()));
    this.child.stdout.on("data", (b: Buffer) => this.onData(b));
    this.exited = new Promise((resolve) => this.child.once("close", (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  send(bytes: Buffer): void {
    this.child.stdin.write(bytes);
  }

  /** Closes prspawn's stdin (the daemon went away) and waits for it to exit. */
  async end(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.stdin.end();
    return this.exited;
  }

  /** Waits until PRED holds for the replies so far, or MS pass (then throws, saying what came). */
  async until(pred: (replies: readonly Reply[]) => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this.replies)) {
      const left = deadline - Date.now();
      if (left <= 0 || this.child.exitCode !== null) throw new Error(`prspawn: condition not met after ${ms} ms; ${this.replies.length} replies; exit ${this.child.exitCode}; stderr ${this.stderr.slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private onData(b: Buffer): void {
    this.rest = this.rest.length === 0 ? b : Buffer.concat([this.rest, b]);
    while (this.rest.length >= 4 && this.rest.length >= 4 + this.rest.readUInt32LE(0)) {
      const f = this.rest.subarray(4, 4 + this.rest.readUInt32LE(0));
      this.rest = this.rest.subarray(4 + f.length);
      const type = String.fromCharCode(f[0]!);
      const count = type === "X" ? 5 : 1;
      const fields = Array.from({ length: count }, (_, i) => f.readUInt32LE(5 + 4 * i));
      const outLen = type === "X" ? fields[3]! : 0;
      const errLen = type === "X" ? fields[4]! : 0;
      const body = 5 + 4 * count;
      this.replies.push({ type, id: f.readUInt32LE(1), fields, out: Buffer.from(f.subarray(body, body + outLen)), err: Buffer.from(f.subarray(body + outLen, body + outLen + errLen)) });
    }
    for (const w of this.waiters.splice(0)) w();
  }
}

/** prspawn's open fds and resident memory (kB), from /proc. */
export async function fdsAndRss(pid: number): Promise<{ fds: number; rssKb: number }> {
  const { readdir, readFile, readlink } = await import("node:fs/promises");
  // Until its exec, the child is still Node's fork, holding the pipe Node reports exec errors through.
  for (let i = 0; i < 500 && !(await readlink(`/proc/${pid}/exe`).catch(() => "")).endsWith("/prspawn"); i++) await new Promise((r) => setTimeout(r, 10));
  const fds = (await readdir(`/proc/${pid}/fd`)).length;
  const rss = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, "utf8"));
  return { fds, rssKb: Number(rss?.[1] ?? NaN) };
}
