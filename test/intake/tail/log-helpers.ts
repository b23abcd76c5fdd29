import { appendFileSync, closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";

/** A private temp dir, removed by the returned cleanup even when the test failed. */
export function tempDir(label: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `patchroll-${label}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A log writer that keeps its file descriptor open like a daemon does, so after a rename rotation it
 * goes on writing into the old inode until told to reopen.
 */
export class HeldWriter {
  #fd: number;
  constructor(readonly path: string) {
    this.#fd = openSync(path, "a");
  }
  write(text: string | Buffer): void {
    if (typeof text === "string") writeSync(this.#fd, text);
    else writeSync(this.#fd, text);
  }
  lines(prefix: string, from: number, to: number): string[] {
    const out: string[] = [];
    for (let i = from; i <= to; i++) out.push(`${prefix} ${i}`);
    this.write(out.map((l) => `${l}\n`).join(""));
    return out;
  }
  reopen(): void {
    closeSync(this.#fd);
    this.#fd = openSync(this.path, "a");
  }
  close(): void {
    closeSync(this.#fd);
  }
}

/** Appends lines through a fresh descriptor each time (as `>>` in a shell would). */
export function appendLines(path: string, prefix: string, from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(`${prefix} ${i}`);
  appendFileSync(path, out.map((l) => `${l}\n`).join(""));
  return out;
}

/**
 * Rotates `path` with the real logrotate binary, a config of its own and a state file of its own
 * (`-s`), forced (`-f`) so it does not depend on dates. `directives` are logrotate directives.
 */
export async function logrotate(dir: string, path: string, directives: string[]): Promise<void> {
  const conf = join(dir, "logrotate.conf");
  writeFileSync(conf, `${path} {\n${directives.map((d) => `  ${d}\n`).join("")}}\n`, { mode: 0o644 });
  await execa("logrotate", ["-s", join(dir, "logrotate.state"), "-f", conf], { timeout: 30_000, forceKillAfterDelay: 2_000 });
}

/** Polls `cond` until it holds; fails after `ms` (a bound, not a timing assertion). */
export async function waitUntil(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
