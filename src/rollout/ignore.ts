import type { Config } from "../config/schema.js";

/**
 * Packages whose change never restarts a container, whatever the configuration says. patchroll's own
 * package is one: its upgrade is a package change the apt hooks report like any other, but no container
 * runs patchroll's files (it lives on the host, and its state is hidden inside containers), and under
 * `rollout.select: all` it would otherwise restart every container on the host.
 */
export const ALWAYS_IGNORED: readonly string[] = ["patchroll"];

/**
 * The package name patterns a package change is ignored for: {@link ALWAYS_IGNORED} first, then the
 * configured `rollout.ignorePackages`. A pattern is a Debian package name, or a glob where `*` matches any
 * run of characters and `?` one character (`linux-image-*`). Package names carry no architecture.
 */
export function ignoredPackages(config: Pick<Config, "rollout">): string[] {
  return [...new Set([...ALWAYS_IGNORED, ...config.rollout.ignorePackages])];
}

/** True when a change of package `name` (no `:arch` suffix) must not trigger a rollout. */
export function isIgnored(name: string, config: Pick<Config, "rollout">): boolean {
  return ignoredPackages(config).some((pattern) => globToRegExp(pattern).test(name));
}

/** `*` and `?` as in shell globs, everything else literal; anchored at both ends. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".");
  return new RegExp(`^${body}$`);
}
