import { randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Config } from "../config/schema.js";
import { PatchrollError } from "../errors/patchroll-error.js";
import { createFileDurableSync } from "../fs/durable-file.js";

/** The dashboard token file: `http.tokenFile`, default `STATEDIR/http-token` (hidden from every container). */
export function tokenFilePath(config: Pick<Config, "http" | "stateDir">): string {
  return config.http.tokenFile ?? join(config.stateDir, "http-token");
}

/**
 * Reads the token, creating it first when missing: 32 random bytes, hex, in a file of mode 0600 (owner
 * root) whose directory is 0700 when created here. A group- or world-readable token file is tightened.
 */
export function loadOrCreateToken(file: string): string {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      // Another process may create it at the same time: the first one's token stands.
      createFileDurableSync(file, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
    } catch (err) {
      throw new PatchrollError("CONFIG_INVALID", `cannot create the dashboard token file ${file}: ${(err as Error).message}; fix http.tokenFile or the state dir`, { cause: err });
    }
  }
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  const token = readFileSync(file, "utf8").trim();
  if (token.length < 16) throw new PatchrollError("CONFIG_INVALID", `the dashboard token in ${file} is shorter than 16 characters; remove the file and restart the daemon to get a new one`);
  return token;
}

/** Constant-time comparison of a presented token with the real one. */
export function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given.trim());
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
