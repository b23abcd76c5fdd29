import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AptEvent, type PackageChange } from "../../src/intake/apt-event.js";
import { assembleEvent, eventId, groupByRun, mergePackages, runFinished, runIsUnattended } from "../../src/intake/assemble.js";
import { compareDebianVersions } from "../../src/intake/debian-version.js";
import { actionFor } from "../../src/intake/hook-payload.js";
import type { SpoolRecord } from "../../src/intake/spool-record.js";

function record(kind: SpoolRecord["kind"], time: string, packages: PackageChange[] = [], over: Partial<SpoolRecord> = {}): SpoolRecord {
  return {
    v: 1,
    kind,
    id: `${Date.parse(time)}000000-1-${kind}`,
    runKey: "b1825a29d417-8281-99118",
    bootId: "b1825a29-d417-4eb9-9398-fd9814117bdc",
    aptPid: 8281,
    aptStart: 99118,
    aptComm: "unattended-upgr",
    time,
    packages,
    unattended: true,
    ...over,
  };
}

const change = (name: string, from: string | null, to: string | null, action: PackageChange["action"]): PackageChange => ({ name, arch: "amd64", from, to, action });

describe("assembleEvent", () => {
  // unattended-upgrades with minimal steps: two dpkg runs, each announced with unpack + configure lines.
  const run = [
    record("post-invoke", "2026-11-23T05:43:15.000Z"),
    record("pre-install", "2026-11-23T05:43:13.000Z", [change("libssl3", "3.0.17", "3.0.22", "upgrade"), change("libssl3", "3.0.17", "3.0.22", "upgrade")]),
    record("pre-install", "2026-11-23T05:43:14.000Z", [change("openssl", "3.0.17", "3.0.22", "upgrade")]),
    record("post-invoke", "2026-11-23T05:43:14.500Z"),
  ];

  it("makes one event of all records of a run, in any order", () => {
    const event = assembleEvent(run, "host1");
    expect(AptEvent.parse(event)).toEqual(event);
    expect(event).toEqual({
      v: 1,
      id: "apt-b1825a29d417-8281-99118",
      host: "host1",
      time: "2026-11-23T05:43:13.000Z",
      endedAt: "2026-11-23T05:43:15.000Z",
      packages: [change("libssl3", "3.0.17", "3.0.22", "upgrade"), change("openssl", "3.0.17", "3.0.22", "upgrade")],
      origin: "unknown",
      sources: ["hook"],
    });
    expect(assembleEvent([...run].reverse(), "host1")).toEqual(event);
    expect(runIsUnattended(run)).toBe(true);
  });

  it("refuses records of two runs", () => {
    expect(() => assembleEvent([run[0]!, record("post-invoke", "2026-11-23T06:00:00.000Z", [], { runKey: "other" })], "h")).toThrow(/two apt runs/);
  });

  it("has a stable id per run key", () => {
    expect(eventId("b1825a29d417-8281-99118")).toBe(eventId("b1825a29d417-8281-99118"));
    expect(eventId("a-1-2")).not.toBe(eventId("a-1-3"));
  });
});

describe("mergePackages", () => {
  it("keeps the first from and the last to of each package", () => {
    expect(mergePackages([change("p1", null, "1.0", "install"), change("p1", "1.0", "1.1", "upgrade")])).toEqual([change("p1", null, "1.1", "install")]);
    expect(mergePackages([change("p1", "1.0", "1.1", "upgrade"), change("p1", "1.1", "1.2", "upgrade")])).toEqual([change("p1", "1.0", "1.2", "upgrade")]);
    expect(mergePackages([change("p1", "1.0", "1.1", "upgrade"), change("p1", "1.1", null, "remove")])).toEqual([change("p1", "1.0", null, "remove")]);
    expect(mergePackages([change("p1", "1.0", "1.1", "upgrade"), change("p1", "1.1", "1.0", "downgrade")])).toEqual([change("p1", "1.0", "1.0", "reinstall")]);
    expect(mergePackages([change("p1", "1.0", "1.0", "configure"), change("p1", "1.0", "1.0", "configure")])).toEqual([change("p1", "1.0", "1.0", "configure")]);
  });

  it("treats the same name on two architectures as two packages", () => {
    const i386 = { ...change("libc6", "2.36-9", "2.36-10", "upgrade"), arch: "i386" };
    expect(mergePackages([change("libc6", "2.36-9", "2.36-10", "upgrade"), i386])).toHaveLength(2);
  });

  it("gives one valid change per package, whatever the sequence", () => {
    const versions = fc.constantFrom(null, "1.0", "1.1", "2:0.5", "1.1~rc1");
    const step = fc.tuple(fc.constantFrom("a1", "b2", "c3"), versions, versions, fc.constantFrom("unpack" as const, "configure" as const)).map(([name, from, to, op]) =>
      change(name, from, to, actionFor(from, to, op)),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const merged = mergePackages(steps);
        expect(merged.map((p) => p.name).sort()).toEqual([...new Set(steps.map((s) => s.name))].sort());
        for (const p of merged) {
          const mine = steps.filter((s) => s.name === p.name);
          expect(p.from).toBe(mine[0]!.from);
          expect(p.to).toBe(mine.at(-1)!.to);
          if (p.to === null) expect(p.action).toBe("remove");
          else if (p.from === null) expect(p.action).toBe("install");
          else {
            const cmp = compareDebianVersions(p.to, p.from);
            if (cmp > 0) expect(p.action).toBe("upgrade");
            else if (cmp < 0) expect(p.action).toBe("downgrade");
            else expect(["reinstall", "configure"]).toContain(p.action);
          }
        }
      }),
    );
  });
});

describe("runs", () => {
  it("groups records by run key, oldest first", () => {
    const other = record("pre-install", "2026-11-23T05:00:00.000Z", [], { runKey: "x-1-1", id: "other" });
    const groups = groupByRun([record("post-invoke", "2026-11-23T05:43:15.000Z"), other, record("pre-install", "2026-11-23T05:43:13.000Z")]);
    expect([...groups.keys()]).toEqual(["x-1-1", "b1825a29d417-8281-99118"]);
    expect(groups.get("b1825a29d417-8281-99118")!.map((r) => r.kind)).toEqual(["pre-install", "post-invoke"]);
  });

  it("is finished once dpkg finished and the apt process is gone", () => {
    const pre = record("pre-install", "2026-11-23T05:43:13.000Z");
    const post = record("post-invoke", "2026-11-23T05:43:14.000Z");
    expect(runFinished([pre, post], false)).toBe(true);
    expect(runFinished([pre, post], true)).toBe(false);
    expect(runFinished([pre], false)).toBe(false);
  });
});
