import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isPatchrollError } from "../../src/errors/patchroll-error.js";
import { formatSpoolRecord, isIncompleteRecord, parseSpoolRecord, runKeyOf, SpoolRecord, spoolRecordName } from "../../src/intake/spool-record.js";

const BOOT = "b1825a29-d417-4eb9-9398-fd9814117bdc";
const FILE = "/var/spool/patchroll/1795414768297758752-8296-pre-install.rec";

/** A record exactly as hooks/apt-pre-install-pkgs wrote it during a real apt-get run. */
const PRE = `patchroll-spool 1
kind pre-install
boot ${BOOT}
apt 8281 99118 apt-get
time-ns 1795414768297758752
command-line apt-get%20install%20-y%20--allow-downgrades%20prxdemo=1.0
action prxdemo 1.2 amd64 none > 1.0 amd64 none /var/tmp/prx/repo/./prxdemo_1.0_amd64.deb
action prxdemo 1.2 amd64 none > 1.0 amd64 none **CONFIGURE**
end
`;

const POST = `patchroll-spool 1
kind post-invoke
boot ${BOOT}
apt 8281 99118 apt-get
time-ns 1795414768547456602
end
`;

describe("parseSpoolRecord", () => {
  it("reads a pre-install record as the hook writes it", () => {
    const rec = parseSpoolRecord(PRE, FILE);
    expect(rec).toEqual({
      v: 1,
      kind: "pre-install",
      id: "1795414768297758752-8296-pre-install",
      runKey: "b1825a29d417-8281-99118",
      bootId: BOOT,
      aptPid: 8281,
      aptStart: 99118,
      aptComm: "apt-get",
      time: "2026-11-23T06:19:28.297Z",
      packages: [
        { name: "prxdemo", arch: "amd64", from: "1.2", to: "1.0", action: "downgrade" },
        { name: "prxdemo", arch: "amd64", from: "1.2", to: "1.0", action: "downgrade" },
      ],
      commandLine: "apt-get install -y --allow-downgrades prxdemo=1.0",
      unattended: false,
    });
  });

  it("gives the post-invoke record of the same apt run the same run key", () => {
    const post = parseSpoolRecord(POST, "1795414768547456602-8398-post-invoke.rec");
    expect(post.runKey).toBe(parseSpoolRecord(PRE, FILE).runKey);
    expect(post).toMatchObject({ kind: "post-invoke", packages: [], unattended: false });
  });

  it("marks runs of unattended-upgrade, by process name or command line", () => {
    expect(parseSpoolRecord(POST.replace("apt-get", "unattended-upgr"), FILE).unattended).toBe(true);
    const viaPython = PRE.replace("apt-get\n", "python3\n").replace(/command-line .*/, "command-line /usr/bin/unattended-upgrade%20-v");
    expect(parseSpoolRecord(viaPython, FILE).unattended).toBe(true);
  });

  it("takes the file's mtime as the time of a record without time-ns (hooks since 0.2)", () => {
    const name = spoolRecordName(BOOT, 290653, 8296, "pre-install");
    expect(name).toBe("b1825a29-290653-8296-pre-install.rec");
    const rec = parseSpoolRecord(PRE.replace(/time-ns .*\n/, ""), name, 1795414768297758752n);
    expect(rec).toMatchObject({ id: "b1825a29-290653-8296-pre-install", time: "2026-11-23T06:19:28.297Z", runKey: "b1825a29d417-8281-99118" });
    // time-ns, when there, wins over the file time
    expect(parseSpoolRecord(PRE, name, 1n).time).toBe("2026-11-23T06:19:28.297Z");
  });

  it("tells a record still being written (no end line yet) from a complete or corrupt one", () => {
    for (let cut = 0; cut < PRE.length - 4; cut += 7) expect(isIncompleteRecord(PRE.slice(0, cut))).toBe(true);
    expect(isIncompleteRecord(PRE)).toBe(false);
    expect(isIncompleteRecord(PRE.slice(0, -1))).toBe(false);
    expect(isIncompleteRecord(`${PRE}kind pre-install\n`)).toBe(false);
  });

  it("gives every record of an unknown apt process (pid 0) a run of its own", () => {
    const a = parseSpoolRecord(POST.replace("apt 8281 99118 apt-get", "apt 0 0 unknown"), "1-1-post-invoke.rec");
    const b = parseSpoolRecord(POST.replace("apt 8281 99118 apt-get", "apt 0 0 unknown"), "2-2-post-invoke.rec");
    expect(a.runKey).not.toBe(b.runKey);
  });

  it.each([
    ["a truncated record", PRE.replace("end\n", ""), /line 8: no end line: the record is incomplete/],
    ["an empty file", "", /line 1: expected "patchroll-spool 1"/],
    ["another format version", PRE.replace("patchroll-spool 1", "patchroll-spool 2"), /line 1: format version 2/],
    ["an unknown key", PRE.replace("kind pre-install", "kind pre-install\nsurprise 1"), /line 3: unknown key "surprise"/],
    ["a repeated key", PRE.replace("boot", "kind pre-install\nboot"), /line 3: "kind" appears twice/],
    ["a bad action", PRE.replace("**CONFIGURE**", "**WHAT**"), /line 8: action: last field "\*\*WHAT\*\*"/],
    ["a missing key", PRE.replace(/boot .*\n/, ""), /required key "boot" is missing/],
    ["no time at all", PRE.replace(/time-ns .*\n/, ""), /no "time-ns" line and no usable file time/],
    ["text after end", `${PRE}kind pre-install\n`, /line 10: text after the end line/],
    ["actions in a post-invoke record", POST.replace("end", "action prxdemo - - none < 1.0 all none /x.deb\nend"), /line 6: a post-invoke record carries no actions/],
    ["a bad time", PRE.replace("time-ns 1795414768297758752", "time-ns soon"), /line 5: time-ns "soon"/],
    ["a bad apt identity", PRE.replace("apt 8281 99118 apt-get", "apt eight"), /line 4: apt must be/],
  ])("refuses %s, naming the file and the line", (_what, text, reason) => {
    let caught: unknown;
    try {
      parseSpoolRecord(text, FILE);
    } catch (err) {
      caught = err;
    }
    expect(isPatchrollError(caught, "SPOOL_RECORD_INVALID")).toBe(true);
    expect((caught as Error).message).toContain(`Spool record ${FILE}, line`);
    expect((caught as Error).message).toMatch(reason);
  });

  const fields = fc.record({
    kind: fc.constant("pre-install" as const),
    bootId: fc.uuid(),
    aptPid: fc.integer({ min: 1, max: 4_194_304 }),
    aptStart: fc.integer({ min: 0, max: 2 ** 40 }),
    aptComm: fc.constantFrom("apt-get", "apt", "unattended-upgr", "python3", "my (weird) apt"),
    timeNs: fc.option(fc.bigInt({ min: 10n ** 18n, max: 4n * 10n ** 18n }), { nil: undefined }),
    commandLine: fc.string({ unit: "grapheme", maxLength: 80 }),
    actions: fc.array(
      fc.tuple(fc.stringMatching(/^[a-z0-9][a-z0-9+.-]{1,20}$/), fc.constantFrom("-", "1.0", "2:1.0-1", "1.0~rc1+b1"), fc.constantFrom("1.1", "1:0.9", "1.0")).map(
        ([name, from, to]) => `${name} ${from} ${from === "-" ? "-" : "amd64"} ${from === "-" ? "none" : "same"} < ${to} amd64 same /var/cache/apt/archives/${name}.deb`,
      ),
      { maxLength: 20 },
    ),
  });

  it("reads back whatever formatSpoolRecord writes", () => {
    fc.assert(
      fc.property(fields, (f) => {
        const name = spoolRecordName(f.bootId, 290653, 4242, f.kind);
        const rec = parseSpoolRecord(formatSpoolRecord(f), name, 1795414768297758752n);
        expect(SpoolRecord.safeParse(rec).success).toBe(true);
        expect(rec.commandLine).toBe(f.commandLine);
        expect(rec.packages).toHaveLength(f.actions.length);
        expect(rec.runKey).toBe(runKeyOf(f.bootId, f.aptPid, f.aptStart, rec.id));
      }),
    );
  });

  it("encodes a command line as apt does: any character, any script, survives the round trip", () => {
    const commandLine = 'apt-get\u2000install  "é"=100% \t\u3000✓';
    const text = formatSpoolRecord({ kind: "pre-install", bootId: BOOT, aptPid: 1, aptStart: 2, aptComm: "apt-get", commandLine });
    expect(text).toMatch(/^command-line [\x21-\x7e]+$/m);
    expect(parseSpoolRecord(text, "x.rec", 1795414768297758752n).commandLine).toBe(commandLine);
  });

  it("refuses every truncation of a record: an error naming file and line, never a crash or a partial record", () => {
    fc.assert(
      fc.property(fields, fc.double({ min: 0, max: 1, noNaN: true }), (f, cut) => {
        const text = formatSpoolRecord(f);
        const at = Math.floor(cut * (text.length - 4)); // anything shorter than the full "end" line
        expect(() => parseSpoolRecord(text.slice(0, at), "1-1-pre-install.rec")).toThrow(/^Spool record 1-1-pre-install\.rec, line \d+: /);
      }),
    );
  });

  it("survives garbage and huge lines with an error naming file and line", () => {
    const garbage = fc.oneof(
      fc.string({ maxLength: 2000 }),
      fc.array(fc.oneof(fc.constantFrom("patchroll-spool 1", "kind pre-install", "end", "action ", "apt 1 2 x", "time-ns 1"), fc.string({ maxLength: 50 })), { maxLength: 30 }).map((l) => l.join("\n")),
      fc.integer({ min: 10_000, max: 300_000 }).map((n) => `patchroll-spool 1\nkind ${"x".repeat(n)}\nend\n`),
    );
    fc.assert(
      fc.property(garbage, (text) => {
        try {
          parseSpoolRecord(text, "9-9-pre-install.rec");
        } catch (err) {
          expect(isPatchrollError(err, "SPOOL_RECORD_INVALID")).toBe(true);
          expect((err as Error).message).toMatch(/^Spool record 9-9-pre-install\.rec, line \d+: /);
          expect((err as Error).message.length).toBeLessThan(600);
        }
      }),
      { numRuns: 500 },
    );
  });
});
