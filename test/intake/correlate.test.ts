import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AptEvent, type PackageChange } from "../../src/intake/apt-event.js";
import { applyReport } from "../../src/intake/apply-report.js";
import type { ChangeReport } from "../../src/intake/change-report.js";
import { coverage, eventFromReport, matchEvent, mergeReport, overlaps } from "../../src/intake/correlate.js";
import { isSecurityOrigin, originOf } from "../../src/intake/origin.js";

const O = { slackMs: 5_000 };
const T0 = Date.parse("2026-11-23T05:43:00.000Z");
const at = (s: number): string => new Date(T0 + s * 1000).toISOString();
const pkg = (name: string, to: string, over: Partial<PackageChange> = {}): PackageChange => ({ name, arch: "amd64", from: "1.0", to, action: "upgrade", ...over });

function hook(key: string, start: number, end: number, packages: PackageChange[], unattended = false): ChangeReport {
  return { source: "hook", key, time: at(start), endedAt: at(end), packages, unattended };
}
function dpkg(start: number, end: number, packages: PackageChange[]): ChangeReport {
  return { source: "reconcile", key: `${at(start)}@/var/log/dpkg.log:${start}`, time: at(start), endedAt: at(end), packages };
}
function uu(start: number, end: number, names: string[], packages: PackageChange[] = [], origins = ["origin=Debian,codename=bookworm-security,label=Debian-Security"]): ChangeReport {
  return {
    source: "uu-log",
    key: at(start),
    time: at(start),
    endedAt: at(end),
    packages,
    unattended: true,
    uu: { outcome: { status: "ok" }, details: { startedAt: at(start), endedAt: at(end), origins, keptBack: [], rebootRequired: false }, names },
  };
}

describe("origins", () => {
  it("calls a run security only when every allowed origin is a security archive", () => {
    expect(isSecurityOrigin("origin=Debian,codename=bookworm-security,label=Debian-Security")).toBe(true);
    expect(isSecurityOrigin("origin=Debian,codename=bookworm,label=Debian")).toBe(false);
    expect(isSecurityOrigin("Ubuntu:jammy-security")).toBe(true);
    expect(originOf(["origin=prtest,label=prtest-security"])).toBe("security");
    expect(originOf(["origin=Debian,codename=bookworm,label=Debian", "origin=Debian,codename=bookworm-security,label=Debian-Security"])).toBe("unknown");
    expect(originOf(["origin=Debian,codename=bookworm-updates"])).toBe("other");
    expect(originOf([])).toBe("unknown");
  });
});

describe("matching reports to events", () => {
  const aptGet = eventFromReport(hook("b-100-1", 0, 2, [pkg("libfoo", "1.1")]), "h");
  const unattended = eventFromReport(hook("b-200-1", 0, 2, [pkg("libfoo", "1.1")], true), "h");

  it("joins the unattended-upgrades run to the hook event of its unattended apt run, with verdict and origin", () => {
    const report = uu(-1, 4, ["libfoo"]);
    expect(matchEvent(report, [aptGet], O)).toBeUndefined(); // apt-get's run is not unattended-upgrades'
    expect(matchEvent(report, [unattended], O)).toBe(unattended);
    const merged = mergeReport(unattended, report);
    expect(AptEvent.parse(merged)).toMatchObject({ sources: ["hook", "uu-log"], origin: "security", outcome: { status: "ok" }, unattended: true, time: at(-1), endedAt: at(4) });
    expect(merged.packages).toEqual(unattended.packages);
    expect(mergeReport(merged, report)).toEqual(merged);
  });

  it("never puts two hook runs (two apt processes) in one event, and needs overlapping times and the same change", () => {
    expect(matchEvent(hook("b-300-1", 1, 2, [pkg("libfoo", "1.1")]), [aptGet], O)).toBeUndefined();
    const fromLog = eventFromReport(dpkg(1, 1, [pkg("libfoo", "1.1")]), "h");
    expect(matchEvent(hook("b-300-1", 0, 2, [pkg("libfoo", "1.1")]), [fromLog], O)).toBe(fromLog);
    expect(matchEvent(hook("b-300-1", 60, 62, [pkg("libfoo", "1.1")]), [fromLog], O)).toBeUndefined();
    expect(matchEvent(hook("b-300-1", 0, 2, [pkg("libfoo", "1.2")]), [fromLog], O)).toBeUndefined();
  });

  it("accounts for dpkg.log changes package by package: covered, pending in a running apt run, or new", () => {
    const report = dpkg(1, 3, [pkg("libfoo", "1.1"), pkg("libbar", "2.0"), pkg("libbaz", "3.0"), pkg("man-db", "2.11", { from: "2.11", action: "configure" })]);
    const pending = [hook("b-400-1", 2, 3, [pkg("libbar", "2.0")])];
    const found = coverage(report, [aptGet], pending, O);
    expect([...found.covered]).toEqual([[aptGet.id, [pkg("libfoo", "1.1")]]]);
    expect(found.pending.map((p) => p.name)).toEqual(["libbar"]);
    expect(found.uncovered.map((p) => p.name)).toEqual(["libbaz"]); // configure-only changes make no event
  });

  it("sees through a dpkg.log group that joins two apt runs: each step is accounted for on its own", () => {
    const install = eventFromReport(hook("b-600-1", 0, 1, [pkg("libnew", "1.0", { from: null, action: "install" })]), "h");
    const group = { ...dpkg(0, 3, [pkg("libnew", "1.1", { from: null, action: "install" })]), steps: [pkg("libnew", "1.0", { from: null, action: "install" }), pkg("libnew", "1.1")] };
    const found = coverage(group, [install], [], O);
    expect([...found.covered.keys()]).toEqual([install.id]);
    expect(found.uncovered).toEqual([pkg("libnew", "1.1")]); // the upgrade 1.0 -> 1.1 nobody reported, not an "install of 1.1"
  });

  it("makes an unattended-upgrades run seen only in its log an event with the versions it was given", () => {
    const d = applyReport(uu(0, 9, ["libfoo"], [pkg("libfoo", "1.1", { arch: "unknown" })]), { near: [] }, "h", O);
    expect(d.results).toHaveLength(1);
    expect(d.results[0]).toMatchObject({ created: true, event: { id: `uu-${at(0).replace(/[-:]/g, "")}`, sources: ["uu-log"], origin: "security", packages: [{ name: "libfoo", to: "1.1", arch: "unknown" }] } });
    // dpkg.log later fills in the architecture, and makes no second event
    const later = applyReport(dpkg(2, 3, [pkg("libfoo", "1.1")]), { near: [d.results[0]!.event] }, "h", O);
    expect(later.results).toEqual([{ created: false, event: expect.objectContaining({ sources: ["uu-log", "reconcile"], packages: [pkg("libfoo", "1.1")] }) }]);
  });

  it("gives a report without changes that matches nothing no event", () => {
    expect(applyReport(uu(0, 1, []), { near: [] }, "h", O)).toEqual({ writes: [], results: [] });
    expect(applyReport(hook("b-500-1", 0, 1, []), { near: [] }, "h", O)).toEqual({ writes: [], results: [] });
  });

  it("tells overlapping time spans with slack", () => {
    expect(overlaps({ time: at(0), endedAt: at(10) }, { time: at(14) }, O.slackMs)).toBe(true);
    expect(overlaps({ time: at(0), endedAt: at(10) }, { time: at(16) }, O.slackMs)).toBe(false);
  });
});

/**
 * Apt runs as the three sources report them, delivered in any order and some more than once (crash
 * redelivery), through applyReport against an in-memory store: every run ends up in exactly one event.
 * What the daemon guarantees about order is kept (src/intake/sources.ts): a hook run's records are in
 * Redis before dpkg.log is reconciled (so a hook report not delivered yet is pending), and dpkg.log waits
 * for an unattended-upgrades run that is not reported yet.
 */
describe("one event per apt run, whatever the order and however often", () => {
  interface Run {
    packages: PackageChange[];
    start: number;
    end: number;
    unattended: boolean;
  }

  const runs = fc
    .array(
      fc.record({ gap: fc.integer({ min: 1, max: 120 }), length: fc.integer({ min: 0, max: 40 }), count: fc.integer({ min: 1, max: 4 }), unattended: fc.boolean() }),
      { minLength: 1, maxLength: 6 },
    )
    .map((specs) => {
      let t = 0;
      return specs.map((s, i): Run => {
        const start = t + s.gap;
        t = start + s.length;
        const packages = Array.from({ length: s.count }, (_, j) => pkg(`lib${i}x${j}`, `1.${i + 1}`));
        return { packages, start, end: t, unattended: s.unattended };
      });
    });

  /** The reports of a run: hook (unless lost), unattended-upgrades' log (unattended runs, unless lost), dpkg.log. */
  function reportsOf(run: Run, i: number, lose: { hook: boolean; uu: boolean }, split: number): ChangeReport[] {
    const out: ChangeReport[] = [];
    if (!lose.hook) out.push(hook(`boot-${i}-${run.start}`, run.start, run.end, run.packages, run.unattended));
    if (run.unattended && !lose.uu) {
      const unknownArch = run.packages.map((p) => ({ ...p, arch: "unknown" }));
      out.push(uu(run.start - 1, run.end + 1, run.packages.map((p) => p.name), lose.hook ? unknownArch : []));
    }
    // apt-get runs dpkg back to back: one dpkg.log group. unattended-upgrades' steps may lie further apart
    // than the group gap: several groups, which only the hook or its log can tell to be one run (with
    // neither, each group is an event of its own: a limitation dpkg.log leaves no way around).
    const parts = run.unattended && !(lose.hook && lose.uu) ? Math.min(split, run.packages.length) : 1;
    for (let g = 0; g < parts; g++) {
      const slice = run.packages.filter((_, j) => j % parts === g);
      const from = run.start + Math.floor(((run.end - run.start) * g) / parts);
      out.push(dpkg(from, Math.min(run.end, from + 1), slice));
    }
    return out;
  }

  it("holds for any delivery order with redeliveries", () => {
    fc.assert(
      fc.property(
        runs,
        fc.array(fc.record({ hook: fc.boolean(), uu: fc.boolean() }), { minLength: 6, maxLength: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.infiniteStream(fc.nat()),
        fc.array(fc.nat(), { maxLength: 6 }),
        (aptRuns, losses, split, order, again) => {
          const reports = aptRuns.flatMap((r, i) => reportsOf(r, i, losses[i]!, split));
          const queue = [...reports, ...again.map((n) => reports[n % reports.length]!)];
          let shuffled: ChangeReport[] = [];
          const it = order[Symbol.iterator]();
          while (queue.length > 0) shuffled.push(queue.splice(it.next().value % queue.length, 1)[0]!);
          // dpkg.log waits for an unattended-upgrades run not reported yet: its groups go after its uu report
          for (const u of shuffled.filter((r) => r.source === "uu-log")) {
            const first = shuffled.indexOf(u);
            const early = shuffled.filter((r, i) => i < first && r.source === "reconcile" && overlaps(r, u, 0));
            shuffled = [...shuffled.filter((r) => !early.includes(r)).slice(0, first - early.length + 1), ...early, ...shuffled.filter((r) => !early.includes(r)).slice(first - early.length + 1)];
          }

          const events = new Map<string, AptEvent>();
          const links = new Map<string, string>();
          for (const report of shuffled) {
            const linkedId = links.get(`${report.source}:${report.key}`);
            const pending = shuffled.filter((r) => r.source === "hook" && !links.has(`hook:${r.key}`));
            const d = applyReport(report, { linked: linkedId === undefined ? undefined : events.get(linkedId), near: [...events.values()], pending }, "h", O);
            for (const w of d.writes) {
              events.set(w.event.id, w.event);
              for (const l of w.links) links.set(`${l.source}:${l.key}`, w.event.id);
            }
          }
          const all = [...events.values()];
          for (const run of aptRuns) {
            const holders = all.filter((e) => e.packages.some((p) => run.packages.some((q) => q.name === p.name)));
            expect(holders).toHaveLength(1);
            expect(holders[0]!.packages.map((p) => p.name).sort()).toEqual(run.packages.map((p) => p.name).sort());
            expect(holders[0]!.packages.every((p) => p.to === run.packages[0]!.to)).toBe(true);
          }
          expect(all).toHaveLength(aptRuns.length);
          for (const e of all) expect(AptEvent.safeParse(e).success).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
