import { localLogTime } from "../tail/log-time.js";
import { warningAt, type LineRef, type ParseWarning } from "../tail/line.js";
import { UU_MESSAGE_PATTERNS, type UuFields, type UuMessageKind } from "./patterns.js";

/** One `DATE TIME,ms LEVEL message` line of unattended-upgrades.log. */
export interface UuMessage {
  type: "message";
  /** What the message means; `debug` for any DEBUG line, `unknown` when no pattern matched. */
  kind: UuMessageKind | "debug" | "unknown";
  /** ISO 8601 (UTC) of the local timestamp. */
  time: string;
  level: string;
  message: string;
  fields: UuFields;
  ref: LineRef;
}

/** A line without the timestamp prefix: the rest of a multi-line message (traceback, dpkg output). */
export interface UuContinuation {
  type: "continuation";
  text: string;
  ref: LineRef;
}

export type UuLogEntry = UuMessage | UuContinuation;

/** A parsed line and, when something about it looked wrong, a warning naming file and line. */
export interface UuParsed {
  entry: UuLogEntry;
  warning?: ParseWarning;
}

// Python logging: format='%(asctime)s %(levelname)s %(message)s', asctime = "YYYY-MM-DD HH:MM:SS,mmm".
const PREFIX = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}),(\d{3}) ([A-Z]+)(?: (.*))?$/s;

/** Parses one line of `/var/log/unattended-upgrades/unattended-upgrades.log`. Pure; never throws. */
export function parseUuLogLine(line: string, ref: LineRef): UuParsed {
  const text = line.endsWith("\r") ? line.slice(0, -1) : line;
  const m = PREFIX.exec(text);
  if (m === null) return { entry: { type: "continuation", text, ref } };
  const time = localLogTime(m[1]!, m[2]!, m[3]!);
  if (time === undefined) {
    return { entry: { type: "continuation", text, ref }, warning: warningAt(ref, "impossible timestamp in unattended-upgrades log", text) };
  }
  const level = m[4]!;
  const message = m[5] ?? "";
  const base = { type: "message" as const, time, level, message, ref };
  if (level === "DEBUG") return { entry: { ...base, kind: "debug", fields: {} } };
  for (const p of UU_MESSAGE_PATTERNS) {
    const hit = p.re.exec(message);
    if (hit !== null) return { entry: { ...base, kind: p.kind, fields: p.fields ? p.fields(hit) : {} } };
  }
  return {
    entry: { ...base, kind: "unknown", fields: {} },
    warning: warningAt(ref, `unrecognised unattended-upgrades ${level} message (other version or language?)`, message),
  };
}
