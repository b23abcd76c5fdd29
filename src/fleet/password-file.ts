import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { PatchrollError } from "../errors/patchroll-error.js";

/**
 * A host's Redis password from `file`, or a new random one written there first (mode 0600, never over
 * an existing file): the password stays in a file only root reads, never on a command line or in output.
 */
export function hostPassword(file: string): string {
  try {
    writeFileSync(file, `${randomBytes(24).toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new PatchrollError("USAGE", `--password-file ${file}: cannot create it: ${(err as Error).message}`, { cause: err });
  }
  const password = readFileSync(file, "utf8").trim();
  if (password === "") throw new PatchrollError("USAGE", `--password-file ${file} is empty: put the host's Redis password in it, or remove it to have one made`);
  return password;
}
