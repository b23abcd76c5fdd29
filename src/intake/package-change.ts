import type { PackageChange } from "./apt-event.js";
import { compareDebianVersions } from "./debian-version.js";

/** The action of a package going from `from` to `to` when dpkg unpacked or removed its files. */
export function actionBetween(from: string | null, to: string | null): Exclude<PackageChange["action"], "configure"> {
  if (to === null) return "remove";
  if (from === null) return "install";
  const cmp = compareDebianVersions(to, from);
  return cmp > 0 ? "upgrade" : cmp < 0 ? "downgrade" : "reinstall";
}

/**
 * The net change of one package over several changes, oldest first (the apt hook's unpack and configure
 * lines, dpkg.log's steps, the events folded into one rollout). It keeps the first `from` and the last
 * `to` (the other fields from the last change), and its action is that of going from one to the other:
 * remove when the package ends absent, install when it started absent, else upgrade or downgrade by
 * Debian version order. Back at the version it started from, it is `configure` only when every change was
 * a configure; otherwise the files were replaced (a remove and an install of the same version, say) and
 * it counts as a reinstall, which restarts what maps them. A single change stands as its source saw it.
 */
export function netChange(changes: readonly [PackageChange, ...PackageChange[]]): PackageChange {
  const first = changes[0];
  const last = changes.at(-1)!;
  if (changes.length === 1) return { ...first };
  const from = first.from;
  const to = last.to;
  let action = actionBetween(from, to) as PackageChange["action"];
  if (action === "reinstall" && changes.every((c) => c.action === "configure")) action = "configure";
  return Object.assign({}, ...changes, { from, to, action }) as PackageChange;
}

/** The net change of each package (name and architecture) over a list of changes, oldest first; packages in the order first seen. */
export function netChanges(changes: readonly PackageChange[]): PackageChange[] {
  const byPackage = new Map<string, [PackageChange, ...PackageChange[]]>();
  for (const c of changes) {
    const key = `${c.name}:${c.arch}`;
    const seen = byPackage.get(key);
    if (seen === undefined) byPackage.set(key, [c]);
    else seen.push(c);
  }
  return [...byPackage.values()].map(netChange);
}

/** True when the net change left nothing: the package was absent before and after (installed and removed again). */
export function leavesNoTrace(change: Pick<PackageChange, "from" | "to">): boolean {
  return change.from === null && change.to === null;
}

/**
 * The net change of each package over several events, oldest first (the events folded into one rollout).
 * The same rule as {@link netChanges}, with one thing a single apt run does not have: time between events.
 * A package that an event installed and a later event changed again was on disk in between, where a
 * container may have started using it, so it counts from the version it had at the first event boundary
 * (an install and a later upgrade restarts what maps the first version, as an upgrade does).
 */
export function netChangesOverEvents(events: readonly (readonly PackageChange[])[]): PackageChange[] {
  const perEvent = events.map((e) => netChanges(e));
  return netChanges(perEvent.flat()).map((net) => {
    if (net.from !== null || net.to === null) return net;
    const key = `${net.name}:${net.arch}`;
    const boundary = perEvent.slice(1).flat().find((c) => `${c.name}:${c.arch}` === key && c.from !== null);
    if (boundary === undefined) return net;
    return { ...net, from: boundary.from, action: actionBetween(boundary.from, net.to) };
  });
}
