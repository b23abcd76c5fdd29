import { basename } from "node:path";
import { z } from "zod";
import { PatchrollError } from "../errors/patchroll-error.js";
import { PackageChange } from "./apt-event.js";
import { decodeAptValue, parseActionLine } from "./hook-payload.js";

/**
 * The spool record: what an apt hook (apt-pre-install-pkgs, apt-post-invoke: hooks/patchroll-hook.c, or
 * the sh versions hooks/*.sh, byte for byte the same) leaves in the spool dir, one file per hook call, named
 * `BOOT8-UPTIMECS-HOOKPID-KIND.rec` (unique: boot id prefix, uptime in centiseconds, the hook's pid; hooks
 * before 0.2 wrote `TIMENS-HOOKPID-KIND.rec`). Line-oriented text, because a POSIX sh hook can write it:
 *
 * ```
 * patchroll-spool 1
 * kind pre-install                        (or post-invoke)
 * boot 0f7c...-...                        (/proc/sys/kernel/random/boot_id)
 * apt 8281 99118 apt-get                  (pid, start time in clock ticks, name of the apt front end)
 * time-ns 1795414768297758752             (optional: without it the file's mtime is the record's time)
 * command-line apt-get%20install%20...    (pre-install, optional; %-encoded as in apt's config dump)
 * action prxdemo 1.2 amd64 none > 1.0 amd64 none /var/cache/apt/archives/prxdemo_1.0_amd64.deb
 * end                                     (a record without it is incomplete: being written, or truncated)
 * ```
 *
 * The hooks write a record under its final name (no temp file and rename: that cost a process per hook),
 * so a reader may see it before its last line is in: {@link isIncompleteRecord} tells that case apart.
 */
export const SPOOL_FORMAT_VERSION = 1;
const HEADER = "patchroll-spool";

/** Records larger than this are refused unread (the biggest real apt run is far below). */
export const MAX_SPOOL_RECORD_BYTES = 16 * 1024 * 1024;

export const SpoolRecordKind = z.enum(["pre-install", "post-invoke"]);
export type SpoolRecordKind = z.infer<typeof SpoolRecordKind>;

/** One parsed spool record. */
export const SpoolRecord = z.strictObject({
  v: z.literal(SPOOL_FORMAT_VERSION),
  kind: SpoolRecordKind,
  /** The file name without `.rec`; unique. */
  id: z.string().regex(/^[A-Za-z0-9._-]+$/),
  /** Shared by every record of one apt run (boot, pid and start time of the apt front end). */
  runKey: z.string().regex(/^[A-Za-z0-9._-]+$/),
  bootId: z.string(),
  aptPid: z.number().int().nonnegative(),
  /** Start time of the apt process, clock ticks after boot (field 22 of /proc/PID/stat). */
  aptStart: z.number().int().nonnegative(),
  /** The apt front end's process name (`apt-get`, `apt`, `unattended-upgr`, ...). */
  aptComm: z.string(),
  /** When the hook ran, ISO 8601. */
  time: z.string(),
  /** The package actions apt announced (pre-install), in apt's order; empty for post-invoke. */
  packages: z.array(PackageChange),
  commandLine: z.string().optional(),
  /** True when unattended-upgrades ran this apt run. */
  unattended: z.boolean(),
});
export type SpoolRecord = z.infer<typeof SpoolRecord>;

/** True for a finished spool record's file name; the hooks' temp files start with a dot. */
export function isSpoolRecordName(name: string): boolean {
  return !name.startsWith(".") && name.endsWith(".rec") && name.length > 4;
}

/**
 * The run key of an apt run. A pid and its start time identify a process within one boot; the boot id
 * makes it unique across reboots. Without a known apt process (pid 0) every record is a run of its own.
 */
export function runKeyOf(bootId: string, aptPid: number, aptStart: number, id: string): string {
  if (aptPid === 0) return `unknown-${id}`;
  const boot = bootId.replace(/[^0-9A-Fa-f]/g, "").slice(0, 12).toLowerCase() || "noboot";
  return `${boot}-${aptPid}-${aptStart}`;
}

class LineError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

const SINGLE_KEYS = new Set(["kind", "boot", "apt", "time-ns", "command-line"]);

/** The message of a record that has no end line (yet); see {@link isIncompleteRecord}. */
const INCOMPLETE = "no end line: the record is incomplete (a hook writing it right now, or killed, or the disk full)";

/**
 * Parses a spool record. `file` is its path or name: the id is the name without `.rec`. `fileTimeNs`, the
 * file's mtime in ns, is the record's time when the record carries no `time-ns` line (hooks since 0.2).
 * Throws PatchrollError("SPOOL_RECORD_INVALID") naming the file and the line and saying what is wrong.
 */
export function parseSpoolRecord(text: string, file: string, fileTimeNs?: bigint): SpoolRecord {
  try {
    return parseLines(text, file, fileTimeNs);
  } catch (err) {
    if (err instanceof LineError) {
      throw new PatchrollError("SPOOL_RECORD_INVALID", `Spool record ${file}, line ${err.line}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** True for text that is a spool record's beginning without its end line: possibly still being written. */
export function isIncompleteRecord(text: string): boolean {
  return !text.split("\n").includes("end");
}

function parseLines(text: string, file: string, fileTimeNs: bigint | undefined): SpoolRecord {
  if (text.length > MAX_SPOOL_RECORD_BYTES) throw new LineError(1, `record is larger than ${MAX_SPOOL_RECORD_BYTES} bytes`);
  const id = basename(file).replace(/\.rec$/, "");
  if (!/^[A-Za-z0-9._-]+$/.test(id)) throw new LineError(1, `file name ${JSON.stringify(id.slice(0, 80))} is not a spool record name`);
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const header = /^patchroll-spool (\d{1,6})$/.exec(lines[0] ?? "");
  if (header === null) throw new LineError(1, `expected "${HEADER} ${SPOOL_FORMAT_VERSION}", found ${JSON.stringify((lines[0] ?? "").slice(0, 80))}`);
  if (Number(header[1]) !== SPOOL_FORMAT_VERSION) {
    throw new LineError(1, `format version ${header[1]} is not ${SPOOL_FORMAT_VERSION}: written by another patchroll version; upgrade the daemon and hooks together`);
  }
  const single = new Map<string, { value: string; line: number }>();
  const actions: { value: string; line: number }[] = [];
  let ended = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const n = i + 1;
    if (ended) throw new LineError(n, "text after the end line");
    if (line === "end") {
      ended = true;
      continue;
    }
    const space = line.indexOf(" ");
    const key = space < 0 ? line : line.slice(0, space);
    const value = space < 0 ? "" : line.slice(space + 1);
    if (key === "action") actions.push({ value, line: n });
    else if (SINGLE_KEYS.has(key)) {
      if (single.has(key)) throw new LineError(n, `"${key}" appears twice`);
      single.set(key, { value, line: n });
    } else throw new LineError(n, `unknown key ${JSON.stringify(key.slice(0, 40))}`);
  }
  if (!ended) throw new LineError(lines.length, INCOMPLETE);

  const need = (key: string): { value: string; line: number } => {
    const found = single.get(key);
    if (found === undefined) throw new LineError(lines.length, `required key "${key}" is missing`);
    return found;
  };
  const kindEntry = need("kind");
  const kind = SpoolRecordKind.safeParse(kindEntry.value);
  if (!kind.success) throw new LineError(kindEntry.line, `kind ${JSON.stringify(kindEntry.value.slice(0, 40))} is not pre-install or post-invoke`);
  const bootId = need("boot").value;
  const aptEntry = need("apt");
  const apt = /^(\d{1,10}) (\d{1,20}) ?(.*)$/.exec(aptEntry.value);
  if (apt === null) throw new LineError(aptEntry.line, "apt must be \"PID STARTTIME NAME\"");
  const aptPid = Number(apt[1]);
  const aptStart = Number(apt[2]);
  if (!Number.isSafeInteger(aptStart)) throw new LineError(aptEntry.line, "apt start time is out of range");
  const aptComm = apt[3] ?? "";
  const timeEntry = single.get("time-ns");
  let time: string | null;
  if (timeEntry !== undefined) {
    time = nsToIso(timeEntry.value);
    if (time === null) throw new LineError(timeEntry.line, `time-ns ${JSON.stringify(timeEntry.value.slice(0, 40))} is not a time in nanoseconds since 1970`);
  } else {
    time = fileTimeNs === undefined ? null : nsToIso(String(fileTimeNs));
    if (time === null) throw new LineError(lines.length, 'no "time-ns" line and no usable file time');
  }

  const command = single.get("command-line");
  if (kind.data === "post-invoke") {
    const misplaced = actions[0] ?? command;
    if (misplaced !== undefined) throw new LineError(misplaced.line, "a post-invoke record carries no actions or command line");
  }

  const packages = actions.map(({ value, line }) => {
    try {
      return parseActionLine(value).change;
    } catch (err) {
      throw new LineError(line, `action: ${(err as Error).message}`);
    }
  });
  const commandLine = command === undefined ? undefined : decodeAptValue(command.value);
  const record: SpoolRecord = {
    v: SPOOL_FORMAT_VERSION,
    kind: kind.data,
    id,
    runKey: runKeyOf(bootId, aptPid, aptStart, id),
    bootId,
    aptPid,
    aptStart,
    aptComm,
    time,
    packages,
    unattended: isUnattended(aptComm, commandLine),
    ...(commandLine === undefined ? {} : { commandLine }),
  };
  return SpoolRecord.parse(record);
}

/** unattended-upgrade runs as a script named so (comm `unattended-upgr`) or under `python3`. */
function isUnattended(aptComm: string, commandLine: string | undefined): boolean {
  return aptComm.startsWith("unattended-upgr") || (commandLine ?? "").includes("unattended-upgrade");
}

function nsToIso(text: string): string | null {
  if (!/^\d{1,20}$/.test(text)) return null;
  const ms = Number(BigInt(text) / 1_000_000n);
  if (ms <= 0 || ms > 8.64e15) return null;
  return new Date(ms).toISOString();
}

/** What `formatSpoolRecord` needs: the facts a hook writes, unparsed. */
export interface SpoolRecordFields {
  kind: SpoolRecordKind;
  bootId: string;
  aptPid: number;
  aptStart: number;
  aptComm: string;
  /** Written as `time-ns` when given; hooks since 0.2 leave it out (the file's mtime is the time). */
  timeNs?: bigint | undefined;
  /** Plain text; encoded as apt encodes it. */
  commandLine?: string;
  /** Raw v3 action lines. */
  actions?: string[];
}

/** The text a hook writes for these fields (for tests, tools and replaying records). */
export function formatSpoolRecord(f: SpoolRecordFields): string {
  const lines = [`${HEADER} ${SPOOL_FORMAT_VERSION}`, `kind ${f.kind}`, `boot ${f.bootId}`, `apt ${f.aptPid} ${f.aptStart} ${f.aptComm}`];
  if (f.timeNs !== undefined) lines.push(`time-ns ${f.timeNs}`);
  if (f.commandLine !== undefined) lines.push(`command-line ${encodeAptValue(f.commandLine)}`);
  for (const action of f.actions ?? []) lines.push(`action ${action}`);
  lines.push("end");
  return `${lines.join("\n")}\n`;
}

/**
 * Encodes a value as apt's configuration dump does (QuoteString): `%`, `=`, `"`, control characters,
 * spaces and every non-ASCII character become `%XX` per UTF-8 byte.
 */
function encodeAptValue(text: string): string {
  return text.replace(/[%="\u0000-\u0020\u007f-\u{10ffff}]/gu, (c) => [...Buffer.from(c, "utf8")].map((b) => `%${b.toString(16).padStart(2, "0")}`).join(""));
}

/**
 * The file name a hook gives a record of this kind: boot id prefix, `uptimeCs` (uptime in centiseconds),
 * the hook's pid, the kind.
 */
export function spoolRecordName(bootId: string, uptimeCs: bigint | number, hookPid: number, kind: SpoolRecordKind): string {
  return `${bootId.split("-")[0] ?? "unknown"}-${uptimeCs}-${hookPid}-${kind}.rec`;
}
