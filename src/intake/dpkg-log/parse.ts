import { localLogTime } from "../tail/log-time.js";
import { warningAt, type LineRef, type ParseWarning } from "../tail/line.js";

/** What dpkg logs per package (dpkg's log_action()): `ACTION PKG:ARCH OLDVER NEWVER`. */
export type DpkgAction = "install" | "upgrade" | "remove" | "purge" | "configure" | "trigproc";

interface Stamped {
  /** The log's own timestamp, `YYYY-MM-DD HH:MM:SS` local time (sorts as text). */
  stamp: string;
  /** The same as ISO 8601 UTC. */
  time: string;
  ref: LineRef;
}

/** One line of /var/log/dpkg.log. */
export type DpkgLogEntry =
  | (Stamped & { kind: "startup"; /** `archives unpack`, `packages configure`, ... */ mode: string })
  | (Stamped & { kind: "action"; action: DpkgAction; pkg: string; arch?: string; from: string | null; to: string | null })
  | (Stamped & { kind: "status"; state: string; pkg: string; arch?: string; version: string | null })
  | (Stamped & { kind: "conffile"; path: string; decision: string });

/** A parsed line, or a warning naming file and line when it is not one dpkg writes. */
export type DpkgParsed = { entry: DpkgLogEntry; warning?: undefined } | { entry?: undefined; warning: ParseWarning };

/** One dpkg invocation: a `startup` line and what follows it up to the next one. */
export interface DpkgRun {
  /** Mode of the startup line; `unknown` for lines before the first startup (a log starting mid-run). */
  mode: string;
  stamp: string;
  time: string;
  entries: DpkgLogEntry[];
  ref: LineRef;
}

const LINE = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) (\S+) (.*)$/s;
const ACTIONS = new Set<string>(["install", "upgrade", "remove", "purge", "configure", "trigproc"]);
const PKG = /^([a-z0-9][a-z0-9+.-]*)(?::([a-z0-9-]+))?$/;
const VERSION = /^(?:<none>|[A-Za-z0-9.+~:-]+)$/;

/** Parses one dpkg.log line. Pure; never throws. An empty line gives a warning too. */
export function parseDpkgLogLine(line: string, ref: LineRef): DpkgParsed {
  const m = LINE.exec(line);
  if (m === null) return bad(ref, "not a dpkg.log line", line);
  const time = localLogTime(m[1]!, m[2]!);
  if (time === undefined) return bad(ref, "impossible timestamp in dpkg.log", line);
  const base = { stamp: `${m[1]} ${m[2]}`, time, ref };
  const word = m[3]!;
  const rest = m[4]!.split(" ");
  if (word === "startup" && rest.length === 2 && rest.every((w) => /^[a-z-]+$/.test(w))) {
    return { entry: { ...base, kind: "startup", mode: rest.join(" ") } };
  }
  if (ACTIONS.has(word) && rest.length === 3) {
    const p = PKG.exec(rest[0]!);
    if (p === null || !VERSION.test(rest[1]!) || !VERSION.test(rest[2]!)) return bad(ref, `malformed dpkg ${word} line`, line);
    return { entry: { ...base, kind: "action", action: word as DpkgAction, pkg: p[1]!, ...arch(p[2]), from: version(rest[1]!), to: version(rest[2]!) } };
  }
  if (word === "status" && rest.length === 3 && /^[a-z-]+$/.test(rest[0]!)) {
    const p = PKG.exec(rest[1]!);
    if (p === null || !VERSION.test(rest[2]!)) return bad(ref, "malformed dpkg status line", line);
    return { entry: { ...base, kind: "status", state: rest[0]!, pkg: p[1]!, ...arch(p[2]), version: version(rest[2]!) } };
  }
  if (word === "conffile" && rest.length >= 2) {
    // dpkg: "conffile PATH DECISION"; the path may contain spaces, the decision (install/keep) does not.
    return { entry: { ...base, kind: "conffile", path: rest.slice(0, -1).join(" "), decision: rest[rest.length - 1]! } };
  }
  return bad(ref, `unknown dpkg.log record "${word.slice(0, 40)}"`, line);
}

/** Groups entries into dpkg invocations; a `startup` line begins one. Pure. */
export function groupDpkgRuns(entries: readonly DpkgLogEntry[]): DpkgRun[] {
  const runs: DpkgRun[] = [];
  let cur: DpkgRun | undefined;
  for (const e of entries) {
    if (e.kind === "startup") {
      cur = { mode: e.mode, stamp: e.stamp, time: e.time, entries: [], ref: e.ref };
      runs.push(cur);
      continue;
    }
    if (cur === undefined) {
      cur = { mode: "unknown", stamp: e.stamp, time: e.time, entries: [], ref: e.ref };
      runs.push(cur);
    }
    cur.entries.push(e);
  }
  return runs;
}

function version(v: string): string | null {
  return v === "<none>" ? null : v;
}

function arch(a: string | undefined): { arch?: string } {
  return a === undefined ? {} : { arch: a };
}

function bad(ref: LineRef, message: string, line: string): DpkgParsed {
  return { warning: warningAt(ref, message, line) };
}
