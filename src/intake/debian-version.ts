/**
 * Debian version syntax as dpkg checks it (deb-version(7)): `[epoch:]upstream[-revision]`. The comparison
 * itself is `compareDebianVersions` in ./dpkg-log/version-compare.ts, re-exported here so that intake has
 * one place for Debian versions; test/intake/debian-version.apt.test.ts checks both against real dpkg.
 */
export { compareDebianVersions } from "./dpkg-log/version-compare.js";

/** A version split into dpkg's three parts; `revision` is "" when the version has no hyphen. */
export interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

/**
 * Splits a version into epoch, upstream version and revision, or returns null when dpkg would reject it
 * (no leading digit, a character outside `[A-Za-z0-9.+~:-]`, a non-numeric epoch, an empty part).
 */
export function parseDebianVersion(version: string): DebianVersion | null {
  const trimmed = version.trim();
  if (trimmed === "" || /\s/.test(trimmed)) return null;
  let epoch = 0;
  let rest = trimmed;
  const colon = rest.indexOf(":");
  if (colon >= 0) {
    const epochText = rest.slice(0, colon);
    if (!/^\d+$/.test(epochText)) return null;
    epoch = Number(epochText);
    if (!Number.isSafeInteger(epoch) || epoch > 0x7fffffff) return null;
    rest = rest.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf("-");
  const upstream = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const revision = hyphen >= 0 ? rest.slice(hyphen + 1) : "";
  if (hyphen >= 0 && revision === "") return null;
  if (!/^[0-9][A-Za-z0-9.+~:-]*$/.test(upstream)) return null;
  if (revision !== "" && !/^[A-Za-z0-9.+~]+$/.test(revision)) return null;
  return { epoch, upstream, revision };
}

/** True when dpkg would accept `version` as a package version. */
export function isValidDebianVersion(version: string): boolean {
  return parseDebianVersion(version) !== null;
}
