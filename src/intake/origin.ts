import type { AptEvent } from "./apt-event.js";

/**
 * True for an unattended-upgrades origin pattern that names a security archive: one of its values says
 * "security" (Debian's `origin=Debian,codename=${distro_codename}-security,label=Debian-Security`,
 * Ubuntu's `${distro_id}:${distro_codename}-security`, a local mirror labelled `...-security`).
 */
export function isSecurityOrigin(pattern: string): boolean {
  return pattern
    .split(",")
    .map((part) => part.slice(part.indexOf("=") + 1))
    .some((value) => /security/i.test(value));
}

/**
 * The event origin unattended-upgrades' allowed origins imply. Its log names the patterns it may install
 * from, not the archive each package came from: every pattern a security one gives "security", none
 * "other", a mix (Debian's default also allows point releases) or none at all "unknown".
 */
export function originOf(patterns: readonly string[]): AptEvent["origin"] {
  if (patterns.length === 0) return "unknown";
  const security = patterns.filter(isSecurityOrigin).length;
  if (security === patterns.length) return "security";
  return security === 0 ? "other" : "unknown";
}
