import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AptEvent, PackageChange } from "../../src/intake/apt-event.js";
import { mergePackages } from "../../src/intake/assemble.js";
import type { ChangeReport } from "../../src/intake/change-report.js";
import { coverage } from "../../src/intake/correlate.js";
import { compareDebianVersions } from "../../src/intake/debian-version.js";
import { changeGroups } from "../../src/intake/dpkg-log/changes.js";
import { groupDpkgRuns, parseDpkgLogLine, type DpkgLogEntry } from "../../src/intake/dpkg-log/parse.js";
import { actionFor } from "../../src/intake/hook-payload.js";
import { leavesNoTrace, netChanges } from "../../src/intake/package-change.js";
import { combinePackages } from "../../src/rollout/merge.js";
import { changedPackages } from "../../src/rollout/prepare.js";

const change = (name: string, from: string | null, to: string | null, action: PackageChange["action"]): PackageChange => ({ name, arch: "amd64", from, to, action });
const RESTARTS = new Set(["upgrade", "downgrade", "reinstall"]);

type Step = { kind: "unpack"; to: string } | { kind: "remove" } | { kind: "configure" };

/** The events' packages folded by the rollout's rule, where no event gave the package a version it kept between events. */
function foldedAsEvents(events: readonly PackageChange[][]): PackageChange[] {
  const folded = combinePackages(events.map((packages) => ({ packages })));
  return keptBetweenEvents(events) ? netChanges(events.flat()) : folded;
}

/** True when an event after the first that touched the package found it installed. */
function keptBetweenEvents(events: readonly PackageChange[][]): boolean {
  return events.flatMap((e) => netChanges(e)).slice(1).some((n) => n.from !== null);
}

/** A package's history as a source reports it: each change starts where the one before ended, its action derived as the apt hook does. */
function chainOf(name: string, start: string | null, steps: readonly Step[]): PackageChange[] {
  const out: PackageChange[] = [];
  let at = start;
  for (const s of steps) {
    if (s.kind === "unpack") out.push(change(name, at, s.to, actionFor(at, s.to, "unpack")));
    else if (at === null) continue; // nothing to remove or configure
    else if (s.kind === "remove") out.push(change(name, at, null, actionFor(at, null, "remove")));
    else out.push(change(name, at, at, actionFor(at, at, "configure")));
    at = out.at(-1)!.to;
  }
  return out;
}

const version = fc.constantFrom("1.0", "1.1", "2:0.5", "1.1~rc1", "1.0-1");
const step: fc.Arbitrary<Step> = fc.oneof(
  version.map((to) => ({ kind: "unpack" as const, to })),
  fc.constant({ kind: "remove" as const }),
  fc.constant({ kind: "configure" as const }),
);
const chain = fc
  .tuple(fc.constantFrom("liba", "libb"), fc.option(version, { nil: null }), fc.array(step, { minLength: 1, maxLength: 8 }))
  .map(([name, start, steps]) => chainOf(name, start, steps))
  .filter((c) => c.length > 0);

/** The same history written as dpkg.log lines, one dpkg run. */
function dpkgLog(changes: readonly PackageChange[]): DpkgLogEntry[] {
  const lines = ["2026-11-23 05:00:00 startup archives unpack"];
  for (const c of changes) {
    const p = `${c.name}:${c.arch}`;
    if (c.action === "configure") lines.push(`2026-11-23 05:00:00 configure ${p} ${c.to} <none>`);
    else if (c.to === null) lines.push(`2026-11-23 05:00:00 remove ${p} ${c.from} <none>`);
    else lines.push(`2026-11-23 05:00:00 ${c.from === null ? "install" : "upgrade"} ${p} ${c.from ?? "<none>"} ${c.to}`);
  }
  return lines.map((line, i) => {
    const parsed = parseDpkgLogLine(line, { file: "/var/log/dpkg.log", lineNo: i + 1 });
    if (parsed.entry === undefined) throw new Error(parsed.warning.message);
    return parsed.entry;
  });
}

const reconcile = (steps: PackageChange[]): ChangeReport => ({ source: "reconcile", key: "k", time: "2026-11-23T05:00:00.000Z", endedAt: "2026-11-23T05:00:00.000Z", packages: [], steps });

describe("the net change of a package", () => {
  it("restarts after a remove and a reinstall of the same version folded into a waiting rollout, as in one apt run", () => {
    const removed: Pick<AptEvent, "packages"> = { packages: [change("libssl3", "3.0.17-1", null, "remove"), change("curl", "7.88.1-10", "7.88.1-11", "upgrade")] };
    const reinstalled: Pick<AptEvent, "packages"> = { packages: [change("libssl3", null, "3.0.17-1", "install")] };
    const folded = combinePackages([removed, reinstalled]);
    expect(folded).toContainEqual(change("libssl3", "3.0.17-1", "3.0.17-1", "reinstall"));
    expect(changedPackages({ packages: folded })).toEqual(["libssl3", "curl"]);
    // The same two changes in one apt run (hook), and in dpkg.log, give the same answer.
    const both = [...removed.packages, ...reinstalled.packages];
    expect(mergePackages(both)).toEqual(folded);
    expect(coverage(reconcile(both), [], [], { slackMs: 0 }).uncovered).toEqual(folded);
    expect(changeGroups(groupDpkgRuns(dpkgLog(both))).groups[0]!.packages).toEqual(folded);
  });

  it.each([
    ["a remove and a reinstall of the same version", [change("p", "1.0", null, "remove"), change("p", null, "1.0", "install")], "reinstall"],
    ["an upgrade and a downgrade back", [change("p", "1.0", "1.1", "upgrade"), change("p", "1.1", "1.0", "downgrade")], "reinstall"],
    ["an upgrade and a downgrade below the start", [change("p", "1.0", "1.1", "upgrade"), change("p", "1.1", "1.0~rc1", "downgrade")], "downgrade"],
    ["an epoch bump", [change("p", "2.0", "1:0.5", "upgrade")], "upgrade"],
    ["two configures of the installed version", [change("p", "1.0", "1.0", "configure"), change("p", "1.0", "1.0", "configure")], "configure"],
    ["a reinstall and a configure", [change("p", "1.0", "1.0", "reinstall"), change("p", "1.0", "1.0", "configure")], "reinstall"],
    ["an install and a remove", [change("p", null, "1.0", "install"), change("p", "1.0", null, "remove")], "remove"],
  ] as const)("folds %s into %s", (_what, changes, action) => {
    expect(netChanges(changes).map((p) => p.action)).toEqual([action]);
  });

  it("restarts after an install and a later upgrade folded into a waiting rollout: the first version was on disk in between", () => {
    const installed: Pick<AptEvent, "packages"> = { packages: [change("libssl3", null, "3.0.17-1", "install")] };
    const upgraded: Pick<AptEvent, "packages"> = { packages: [change("libssl3", "3.0.17-1", "3.0.17-2", "upgrade")] };
    expect(combinePackages([installed, upgraded])).toEqual([change("libssl3", "3.0.17-1", "3.0.17-2", "upgrade")]);
    expect(changedPackages({ packages: combinePackages([installed, upgraded]) })).toEqual(["libssl3"]);
    // In one apt run nothing can start using the package between its steps: a plain install.
    expect(netChanges([...installed.packages, ...upgraded.packages]).map((p) => p.action)).toEqual(["install"]);
  });

  it("folds events as one run, except a package installed and changed again: it counts from a version it had between events", () => {
    fc.assert(
      fc.property(chain, fc.array(fc.nat(), { maxLength: 4 }), (c, cuts) => {
        const at = [...new Set(cuts.map((x) => x % (c.length + 1)))].sort((a, b) => a - b);
        const events = [0, ...at].map((start, i) => c.slice(start, [...at, c.length][i]));
        const [folded] = combinePackages(events.map((packages) => ({ packages })));
        const [whole] = netChanges(c);
        const between = events.flatMap((e) => netChanges(e)).map((n) => n.to).filter((v): v is string => v !== null);
        if (whole!.from !== null || whole!.to === null || !keptBetweenEvents(events)) expect(folded).toEqual(whole);
        else {
          expect(folded!.to).toBe(whole!.to);
          expect(between).toContain(folded!.from);
          expect(RESTARTS.has(folded!.action) || folded!.action === "configure").toBe(true);
        }
      }),
    );
  });

  it("keeps the first from and the last to; its action says whether what maps the package restarts", () => {
    fc.assert(
      fc.property(chain, (c) => {
        const [net, ...rest] = netChanges(c);
        expect(rest).toEqual([]);
        expect(net!.from).toBe(c[0]!.from);
        expect(net!.to).toBe(c.at(-1)!.to);
        const { from, to } = net!;
        if (to === null) expect(net!.action).toBe("remove");
        else if (from === null) expect(net!.action).toBe("install");
        else if (compareDebianVersions(to, from) > 0) expect(net!.action).toBe("upgrade");
        else if (compareDebianVersions(to, from) < 0) expect(net!.action).toBe("downgrade");
        // Back where it started: files replaced on the way (a reinstall, a remove and install, an upgrade and downgrade) restart.
        else expect(RESTARTS.has(net!.action)).toBe(c.some((x) => x.action !== "configure"));
      }),
    );
  });

  it("does not depend on where the history is cut: one apt run, several events folded, or folded twice", () => {
    fc.assert(
      fc.property(chain, fc.nat(), (c, cut) => {
        const at = cut % (c.length + 1);
        const whole = netChanges(c);
        expect(netChanges([...netChanges(c.slice(0, at)), ...netChanges(c.slice(at))])).toEqual(whole);
        expect(foldedAsEvents([c.slice(0, at), c.slice(at)])).toEqual(whole);
        expect(netChanges(whole)).toEqual(whole);
      }),
    );
  });

  it("is the same when a source repeats each change", () => {
    fc.assert(
      fc.property(chain, (c) => {
        expect(netChanges(c.flatMap((x) => [x, x]))).toEqual(netChanges(c));
      }),
    );
  });

  it("keeps packages apart and in the order first seen, whatever the interleaving", () => {
    fc.assert(
      fc.property(chain.map((c) => c.map((x) => ({ ...x, name: "liba" }))), chain.map((c) => c.map((x) => ({ ...x, name: "libb" }))), fc.array(fc.boolean()), (a, b, picks) => {
        const mixed: PackageChange[] = [];
        let i = 0;
        let j = 0;
        for (const pick of picks) if (pick && i < a.length) mixed.push(a[i++]!);
        else if (j < b.length) mixed.push(b[j++]!);
        mixed.push(...a.slice(i), ...b.slice(j));
        const net = netChanges(mixed);
        expect(net.map((p) => p.name)).toEqual([mixed[0]!.name, mixed[0]!.name === "liba" ? "libb" : "liba"]);
        expect(net.find((p) => p.name === "liba")).toEqual(netChanges(a)[0]);
        expect(net.find((p) => p.name === "libb")).toEqual(netChanges(b)[0]);
      }),
    );
  });

  it("gives the same answer in the hook's run, the folded rollout, dpkg.log and its reconciliation", () => {
    fc.assert(
      fc.property(chain, (c) => {
        const net = netChanges(c);
        expect(mergePackages(c)).toEqual(net);
        expect(foldedAsEvents(c.map((x) => [x]))).toEqual(net);
        const fromLog = changeGroups(groupDpkgRuns(dpkgLog(c))).groups[0]!.packages;
        expect(fromLog).toEqual(net.filter((p) => !leavesNoTrace(p)));
        // Reconciliation folds what no event accounts for; configure-only steps never make an event.
        const fileSteps = c.filter((x) => x.action !== "configure");
        if (fileSteps.length > 0) expect(coverage(reconcile(fileSteps), [], [], { slackMs: 0 }).uncovered).toEqual(netChanges(fileSteps));
      }),
    );
  });
});
