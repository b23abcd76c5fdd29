import { PatchrollError } from "../errors/patchroll-error.js";
import type { PackageChange } from "./apt-event.js";
import { isValidDebianVersion } from "./debian-version.js";
import { actionBetween } from "./package-change.js";

/** What dpkg is asked to do with the package, the last field of an action line. */
export type HookOperation = "unpack" | "configure" | "remove";

/** One action line of apt's hook protocol v3, parsed; `deb` is set for an unpack. */
export interface HookAction {
  change: PackageChange;
  operation: HookOperation;
  deb?: string;
}

const NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const MULTI_ARCH = new Set(["none", "same", "foreign", "allowed"]);

function invalid(reason: string): never {
  throw new PatchrollError("SPOOL_RECORD_INVALID", reason);
}

function version(text: string, what: string): string | null {
  if (text === "-") return null;
  if (!isValidDebianVersion(text)) invalid(`${what} version ${JSON.stringify(text.slice(0, 80))} is not a Debian version`);
  return text;
}

/**
 * Parses one action line of apt's `DPkg::Pre-Install-Pkgs` protocol v3:
 * `pkg oldver oldarch oldmulti <|=|> newver newarch newmulti /path.deb|**CONFIGURE**|**REMOVE**`
 * (`-` for a missing version, arch and multi-arch then `-`/`none`). The action is derived from the two
 * versions compared as dpkg does, so the unpack and configure lines of one upgrade agree: install (no old
 * version), upgrade, downgrade, reinstall (same version, unpacked again), configure (same version, only
 * configured), remove. Throws PatchrollError("SPOOL_RECORD_INVALID") saying what is wrong.
 */
export function parseActionLine(line: string): HookAction {
  const fields = line.split(" ");
  if (fields.length < 9) invalid(`an action line needs 9 space-separated fields, found ${fields.length}`);
  const [name, oldVer, oldArch, oldMulti, op, newVer, newArch, newMulti] = fields as [string, string, string, string, string, string, string, string];
  const target = fields.slice(8).join(" ");
  if (!NAME.test(name)) invalid(`package name ${JSON.stringify(name.slice(0, 80))} is not a Debian package name`);
  if (op !== "<" && op !== "=" && op !== ">") invalid(`comparison field is ${JSON.stringify(op.slice(0, 10))}, expected <, = or >`);
  for (const multi of [oldMulti, newMulti]) {
    if (!MULTI_ARCH.has(multi)) invalid(`multi-arch field ${JSON.stringify(multi.slice(0, 20))} is not none, same, foreign or allowed`);
  }
  const from = version(oldVer, "old");
  const newVersion = version(newVer, "new");

  let operation: HookOperation;
  let deb: string | undefined;
  if (target === "**REMOVE**") operation = "remove";
  else if (target === "**CONFIGURE**") operation = "configure";
  else if (target.startsWith("/")) {
    operation = "unpack";
    deb = target;
  } else invalid(`last field ${JSON.stringify(target.slice(0, 80))} is neither a .deb path, **CONFIGURE** nor **REMOVE**`);

  const to = operation === "remove" ? null : newVersion;
  if (operation !== "remove" && to === null) invalid(`an ${operation} action needs a new version, found "-"`);
  const arch = operation === "remove" || newArch === "-" ? oldArch : newArch;
  if (arch === "-" || arch === "") invalid("no architecture for the package");

  const change: PackageChange = { name, arch, from, to, action: actionFor(from, to, operation) };
  return deb === undefined ? { change, operation } : { change, operation, deb };
}

/** The action of a package going from `from` to `to`; `operation` tells reinstall from configure. */
export function actionFor(from: string | null, to: string | null, operation: HookOperation): PackageChange["action"] {
  const action = actionBetween(from, operation === "remove" ? null : to);
  return action === "reinstall" && operation === "configure" ? "configure" : action;
}

/**
 * Decodes a value of apt's configuration dump, where apt %-encodes spaces, `%`, `=`, quotes and newlines
 * (apt's QuoteString). Malformed escapes are kept as they are; invalid UTF-8 becomes U+FFFD.
 */
export function decodeAptValue(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => Buffer.from(run.replace(/%/g, ""), "hex").toString("utf8"));
}
