import { localLogTime } from "../tail/log-time.js";
import type { LineRef } from "../tail/line.js";

/**
 * One `Log started:` ... `Log ended:` block of unattended-upgrades-dpkg.log: the terminal output of
 * one dpkg invocation (u-u writes one block per install step in minimal-steps mode).
 */
export interface UuDpkgBlock {
  /** ISO 8601 (UTC), second precision. */
  startedAt: string;
  endedAt?: string;
  /** `Setting up NAME (VERSION) ...` lines: packages dpkg configured. */
  setUp: { pkg: string; version: string }[];
  /** `Unpacking NAME (NEW) over (OLD) ...` lines. */
  unpacked: { pkg: string; version: string; from?: string }[];
  /** Packages dpkg named in `dpkg: error processing package NAME` or under `Errors were encountered`. */
  failedPackages: string[];
  /** Error lines (`dpkg: error ...`, `E: ...`), first 20. */
  errors: string[];
  ref: LineRef;
}

/** Serializable state of a {@link UuDpkgBlockAssembler}. */
export interface UuDpkgAssemblerState {
  open?: UuDpkgBlock;
  inErrorList: boolean;
}

const START_END = /^Log (started|ended): (\d{4}-\d{2}-\d{2})\s+(\d{2}:\d{2}:\d{2})\s*$/;
const SETTING_UP = /^Setting up (\S+) \(([^()\s]+)\)/;
const UNPACKING = /^Unpacking (\S+) \(([^()\s]+)\)(?: over \(([^()\s]+)\))?/;
const ERROR_PKG = /^dpkg: error processing package (\S+) \(/;
const ERROR_LINE = /^(?:dpkg: (?:error|dependency problems)|E:|Errors were encountered|dpkg: warning: .*(?:failed|error))/s;
const MAX_ERRORS = 20;

/**
 * Cuts unattended-upgrades-dpkg.log into blocks. Pure; state is plain JSON so a daemon restart can
 * carry an open block over. Lines outside blocks are ignored.
 */
export class UuDpkgBlockAssembler {
  #s: UuDpkgAssemblerState;

  constructor(state?: UuDpkgAssemblerState) {
    this.#s = state ? structuredClone(state) : { inErrorList: false };
  }

  /** Plain-JSON copy of the state. */
  snapshot(): UuDpkgAssemblerState {
    return structuredClone(this.#s);
  }

  /** Feeds one line; returns the blocks it completes (a `Log started:` also closes an unended block). */
  push(rawLine: string, ref: LineRef): UuDpkgBlock[] {
    // dpkg's progress meter redraws with \r: what was on screen last is after the last \r.
    const trimmed = rawLine.replace(/\r+$/, "");
    const line = trimmed.slice(trimmed.lastIndexOf("\r") + 1);
    const out: UuDpkgBlock[] = [];
    const se = START_END.exec(line);
    if (se !== null) {
      const time = localLogTime(se[2]!, se[3]!);
      if (se[1] === "started") {
        if (this.#s.open) out.push(this.#s.open);
        this.#s = { open: { startedAt: time ?? new Date(0).toISOString(), setUp: [], unpacked: [], failedPackages: [], errors: [], ref }, inErrorList: false };
      } else if (this.#s.open) {
        if (time !== undefined) this.#s.open.endedAt = time;
        out.push(this.#s.open);
        this.#s = { inErrorList: false };
      }
      return out;
    }
    const b = this.#s.open;
    if (b === undefined) return out;
    const su = SETTING_UP.exec(line);
    if (su !== null) {
      b.setUp.push({ pkg: su[1]!, version: su[2]! });
      return out;
    }
    const un = UNPACKING.exec(line);
    if (un !== null) {
      b.unpacked.push({ pkg: un[1]!, version: un[2]!, ...(un[3] === undefined ? {} : { from: un[3] }) });
      return out;
    }
    const ep = ERROR_PKG.exec(line);
    if (ep !== null) addOnce(b.failedPackages, ep[1]!);
    if (this.#s.inErrorList) {
      // "Errors were encountered while processing:" is followed by " NAME" lines.
      const listed = /^ (\S+)$/.exec(line);
      if (listed !== null) {
        addOnce(b.failedPackages, listed[1]!);
        return out;
      }
      this.#s.inErrorList = false;
    }
    if (line.startsWith("Errors were encountered while processing:")) this.#s.inErrorList = true;
    if (ERROR_LINE.test(line) && b.errors.length < MAX_ERRORS) b.errors.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
    return out;
  }
}

function addOnce(list: string[], item: string): void {
  if (!list.includes(item)) list.push(item);
}
