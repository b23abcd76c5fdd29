import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import { currentToolMark, TOOL_MARK_ENV } from "./tool-mark.js";

/** How a tool run ended. `exitCode` is undefined when it was killed by a signal or could not start. */
export interface ToolResult {
  exitCode: number | undefined;
  signal: NodeJS.Signals | undefined;
  /** Without its final newline. */
  stdout: string;
  /** Without its final newline. */
  stderr: string;
  timedOut: boolean;
  /** Why it could not start (ENOENT: no such program), when it did not. */
  startError?: NodeJS.ErrnoException;
}

export interface ToolOptions {
  /** SIGTERM after this long, SIGKILL `killAfterMs` later. Default: no time bound. */
  timeoutMs?: number;
  /** Default 2000. */
  killAfterMs?: number;
  /** The whole environment of the tool. Default: the daemon's own. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** A started tool: its pid once it runs, a way to signal it, and how it ended. */
export interface ToolRun {
  readonly pid: Promise<number | undefined>;
  kill(signal?: NodeJS.Signals): void;
  readonly result: Promise<ToolResult>;
}

/**
 * Runs `file args...` (argument array, never a shell), stdin from /dev/null, output collected. Never
 * rejects: the result says how it ended.
 *
 * The daemon starts several tools per container in a rollout (lxc-stop, cp, lxc-start), all from one event
 * loop. Node starts a child with fork(2), which blocks the loop for as long as it copies the daemon's page
 * tables and waits for the child's exec (1-6 ms each, measured, growing with the daemon's size and the
 * host's load). So tools are started by prspawn (native/prspawn.c), a small process that uses
 * posix_spawn(3) and reports back over a pipe; where it is not built (no C compiler), Node starts them.
 * Within withToolMark (src/proc/tool-mark.ts) the tool carries the mark in its environment.
 */
export function runTool(file: string, args: readonly string[], opts: ToolOptions = {}): ToolRun {
  const mark = currentToolMark();
  const o = mark === undefined ? opts : { ...opts, env: { ...(opts.env ?? process.env), [TOOL_MARK_ENV]: mark } };
  const spawner = sharedSpawner();
  return spawner !== undefined ? spawner.run(file, args, o) : runDirect(file, args, o);
}

/**
 * A native helper `npm run build` puts in dist/native/ (native/build.sh): next to this module once
 * compiled (dist/src/proc), or under dist/ when the TypeScript source runs directly (tests). "" where it
 * was not built (no C compiler).
 */
export function nativeHelper(name: string): string {
  return [new URL(`../../native/${name}`, import.meta.url), new URL(`../../dist/native/${name}`, import.meta.url)].map((u) => fileURLToPath(u)).find((p) => existsSync(p)) ?? "";
}

/** The prspawn binary (see {@link nativeHelper}). */
export const PRSPAWN = nativeHelper("prspawn");

/** Output kept per stream (prspawn's OUT_CAP); the rest is read and dropped. */
export const OUTPUT_CAP = 8 << 20;
/** How long an exited tool's pipes may stay open (prspawn's DETACH_MS). */
const DETACH_MS = 2000;

let shared: Spawner | undefined;
let disabledUntil = 0;

function sharedSpawner(): Spawner | undefined {
  if (shared?.alive === true) return shared;
  if (Date.now() < disabledUntil || process.env["PATCHROLL_PRSPAWN"] === "0" || PRSPAWN === "") return undefined;
  try {
    shared = new Spawner(PRSPAWN);
    return shared;
  } catch {
    disabledUntil = Date.now() + 60_000;
    return undefined;
  }
}

/** Output loses its final newline, as with execa (what callers compared against before). */
function resultOf(code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string, timedOut: boolean): ToolResult {
  const strip = (s: string) => s.replace(/\r?\n$/, "");
  return { exitCode: code ?? undefined, signal: signal ?? undefined, stdout: strip(stdout), stderr: strip(stderr), timedOut };
}

/** The result of a tool that could not start: its stderr says why, like a shell would. */
function notStarted(file: string, err: NodeJS.ErrnoException): ToolResult {
  return { ...resultOf(null, null, "", `cannot run ${file}: ${err.message}`, false), startError: err };
}

/** The same run with Node's own child_process (the fallback). */
export function runDirect(file: string, args: readonly string[], opts: ToolOptions = {}): ToolRun {
  let child: ChildProcess;
  try {
    child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], env: (opts.env ?? process.env) as NodeJS.ProcessEnv });
  } catch (err) {
    return { pid: Promise.resolve(undefined), kill: () => {}, result: Promise.resolve(notStarted(file, err as NodeJS.ErrnoException)) };
  }
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const keep = (into: Buffer[]) => {
    let kept = 0;
    return (b: Buffer) => {
      if (kept < OUTPUT_CAP) into.push(b.subarray(0, OUTPUT_CAP - kept));
      kept += b.length;
    };
  };
  child.stdout?.on("data", keep(out));
  child.stderr?.on("data", keep(err));
  let timedOut = false;
  const timers: NodeJS.Timeout[] = [];
  if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) {
    timers.push(setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
      timers.push(setTimeout(() => child.kill("SIGKILL"), opts.killAfterMs ?? 2000));
    }, opts.timeoutMs));
  }
  const result = new Promise<ToolResult>((resolve) => {
    child.once("error", (e) => {
      for (const t of timers) clearTimeout(t);
      resolve(notStarted(file, e as NodeJS.ErrnoException));
    });
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      for (const t of timers) clearTimeout(t);
      resolve(resultOf(code, signal, Buffer.concat(out).toString(), Buffer.concat(err).toString(), timedOut));
    };
    child.once("close", done);
    // A tool that leaves a daemon behind holding its pipes is done DETACH_MS after it exits (as in prspawn).
    child.once("exit", (code, signal) => timers.push(setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
      done(code, signal);
    }, DETACH_MS).unref()));
  });
  return { pid: Promise.resolve(child.pid), kill: (s = "SIGTERM") => void child.kill(s), result };
}

interface Pending {
  file: string;
  args: readonly string[];
  opts: ToolOptions;
  /** prspawn said it started the tool. */
  started: boolean;
  resolvePid(pid: number | undefined): void;
  resolve(r: ToolResult): void;
}

/** Number -> name, for what prspawn reports as numbers. */
const invert = <K extends string>(o: Readonly<Record<K, number>>): Map<number, K> => new Map(Object.entries(o).map(([k, v]) => [v as number, k as K]));
const SIGNAL_NAMES = invert(constants.signals as Record<NodeJS.Signals, number>);
const ERRNO_NAMES = invert(constants.errno as Record<string, number>);

/** One prspawn process and the runs it has under way (the protocol is described in native/prspawn.c). */
class Spawner {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private input: Buffer = Buffer.alloc(0);
  private startedAny = false;
  alive = true;

  constructor(binary: string) {
    this.child = spawn(binary, [], { stdio: ["pipe", "pipe", "inherit"] });
    this.child.unref();
    this.idle();
    this.child.stdout!.on("data", (b: Buffer) => this.onData(b));
    this.child.stdin!.on("error", () => this.gone("its input pipe broke"));
    this.child.once("error", () => this.gone("it could not be started"));
    // "close", not "exit": replies still in the pipe are read first.
    this.child.once("close", (code, signal) => this.gone(`it exited (${signal ?? code})`));
  }

  run(file: string, args: readonly string[], opts: ToolOptions): ToolRun {
    const id = this.nextId++;
    const env = Object.entries(opts.env ?? process.env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
    const strings = Buffer.from([file, ...args, ...env].map((s) => `${s}\0`).join(""));
    const head = Buffer.alloc(4 + 1 + 20);
    head.writeUInt32LE(1 + 20 + strings.length, 0);
    head.write("R", 4, "latin1");
    head.writeUInt32LE(id, 5);
    head.writeUInt32LE(opts.timeoutMs ?? 0, 9);
    head.writeUInt32LE(opts.killAfterMs ?? 2000, 13);
    head.writeUInt32LE(1 + args.length, 17);
    head.writeUInt32LE(env.length, 21);
    let resolvePid!: (pid: number | undefined) => void;
    const pid = new Promise<number | undefined>((r) => (resolvePid = r));
    const result = new Promise<ToolResult>((resolve) => this.pending.set(id, { file, args, opts, started: false, resolvePid, resolve }));
    if (this.pending.size === 1) this.busy();
    this.child.stdin!.write(Buffer.concat([head, strings]));
    return { pid, kill: (s = "SIGTERM") => this.signal(id, s), result };
  }

  private signal(id: number, signal: NodeJS.Signals): void {
    if (!this.pending.has(id)) return;
    const msg = Buffer.alloc(4 + 1 + 8);
    msg.writeUInt32LE(9, 0);
    msg.write("K", 4, "latin1");
    msg.writeUInt32LE(id, 5);
    msg.writeUInt32LE(constants.signals[signal], 9);
    this.child.stdin!.write(msg);
  }

  private onData(b: Buffer): void {
    this.input = this.input.length === 0 ? b : Buffer.concat([this.input, b]);
    while (this.input.length >= 4) {
      const n = this.input.readUInt32LE(0);
      if (this.input.length < 4 + n) break;
      this.onFrame(this.input.subarray(4, 4 + n));
      this.input = this.input.subarray(4 + n);
    }
  }

  private onFrame(f: Buffer): void {
    const type = String.fromCharCode(f[0]!);
    const id = f.readUInt32LE(1);
    const p = this.pending.get(id);
    if (p === undefined) return;
    if (type === "P") {
      p.started = true;
      this.startedAny = true;
      return p.resolvePid(f.readUInt32LE(5));
    }
    this.pending.delete(id);
    if (this.pending.size === 0) this.idle();
    if (type === "F") {
      const errno = f.readUInt32LE(5);
      const code = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
      p.resolvePid(undefined);
      return p.resolve(notStarted(p.file, Object.assign(new Error(code), { code, errno: -errno })));
    }
    const [code, sig, flags, outLen, errLen] = [5, 9, 13, 17, 21].map((o) => f.readUInt32LE(o)) as [number, number, number, number, number];
    const stdout = f.subarray(25, 25 + outLen).toString();
    const stderr = f.subarray(25 + outLen, 25 + outLen + errLen).toString();
    p.resolve(resultOf(sig === 0 ? code : null, sig === 0 ? null : (SIGNAL_NAMES.get(sig) ?? "SIGKILL"), stdout, stderr, (flags & 1) !== 0));
  }

  /**
   * prspawn is gone. A run it had started ends as failed (the tool may have done its work, or part of
   * it: the caller decides, as for any failed tool); one it had not started yet is started by Node. The
   * next run starts a new prspawn, unless this one never started anything (then Node starts the tools
   * for a minute).
   */
  private gone(why: string): void {
    if (!this.alive) return;
    this.alive = false;
    if (!this.startedAny) disabledUntil = Date.now() + 60_000;
    for (const [, p] of this.pending) {
      if (!p.started) {
        const direct = runDirect(p.file, p.args, p.opts);
        void direct.pid.then(p.resolvePid);
        void direct.result.then(p.resolve);
        continue;
      }
      p.resolve(notStarted(p.file, Object.assign(new Error(`prspawn ended while it ran: ${why}`), { code: "EPIPE" })));
    }
    this.pending.clear();
  }

  /** While runs are under way the pipes keep the process alive; when idle, prspawn never does. */
  private busy(): void {
    (this.child.stdout as unknown as { ref(): void }).ref();
    (this.child.stdin as unknown as { ref(): void }).ref();
  }

  private idle(): void {
    (this.child.stdout as unknown as { unref(): void }).unref();
    (this.child.stdin as unknown as { unref(): void }).unref();
  }
}
