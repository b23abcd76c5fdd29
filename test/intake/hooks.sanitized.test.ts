import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseActionLine } from "../../src/intake/hook-payload.js";
import { MAX_SPOOL_RECORD_BYTES, parseSpoolRecord } from "../../src/intake/spool-record.js";
import { buildSanitized, HAVE_CC, SANITIZER_ENV, SANITIZER_REPORT } from "../helpers/sanitized.js";

/**
 * hooks/patchroll-hook.c built with AddressSanitizer, LeakSanitizer and UBSan, fed random and hostile apt
 * hook data and arguments. Whatever it gets, it must exit 0 (apt aborts the upgrade otherwise), show no
 * sanitizer report, and either write exactly the record a model of apt's protocol v3 says, which the
 * daemon's parser reads, or write none and say why in exactly one "patchroll:" line.
 */
const HOOKS = fileURLToPath(new URL("../../hooks/", import.meta.url));
const LINE = /^patchroll: [^\n]*; apt goes on, reconciliation will catch up\n$/;

/**
 * What the hook must make of PAYLOAD: the record's lines after "apt ...", or null for "no record" (not v3,
 * or a line it must keep longer than the daemon reads: the record could not be read anyway).
 */
function model(payload: Buffer): { tail: Buffer; actions: string[] } | null {
  const lines: Buffer[] = [];
  for (let from = 0; from < payload.length; ) {
    const nl = payload.indexOf(0x0a, from);
    lines.push(payload.subarray(from, nl < 0 ? payload.length : nl));
    from = nl < 0 ? payload.length : nl + 1;
  }
  if (lines.length === 0 || lines[0]!.toString("latin1") !== "VERSION 3") return null;
  let cmd: Buffer = Buffer.alloc(0);
  const actions: Buffer[] = [];
  let body = false;
  for (const line of lines.slice(1)) {
    const text = line.toString("latin1");
    if (!body) {
      if (line.length === 0) body = true;
      else if (text.indexOf("=") === 21 && text.slice(0, 21).toLowerCase() === "commandline::asstring") {
        if (line.length > MAX_SPOOL_RECORD_BYTES) return null;
        cmd = line.subarray(22);
      }
      continue;
    }
    if (line.length > MAX_SPOOL_RECORD_BYTES) return null;
    if (text.split(/[ \t]+/).filter((f) => f !== "").length >= 9) actions.push(line);
  }
  const tail = Buffer.concat([...(cmd.length > 0 ? [Buffer.from("command-line "), cmd, Buffer.from("\n")] : []), ...actions.flatMap((a) => [Buffer.from("action "), a, Buffer.from("\n")]), Buffer.from("end\n")]);
  return { tail, actions: actions.map((a) => a.toString("utf8")) };
}

describe.skipIf(!HAVE_CC)("the compiled apt hook under the sanitizers", () => {
  let dir: string;
  let pre: string;
  let post: string;
  let work: string;
  let n = 0;

  beforeAll(async () => {
    dir = mkdtempSync("/var/tmp/patchroll-test-hook-san-");
    pre = join(dir, "apt-pre-install-pkgs");
    post = join(dir, "apt-post-invoke");
    await buildSanitized(join(HOOKS, "patchroll-hook.c"), pre);
    linkSync(pre, post);
    for (const f of ["hook-lib.sh", "apt-pre-install-pkgs.sh"]) copyFileSync(join(HOOKS, f), join(dir, f));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    work = join(dir, `work-${n++}`);
    mkdirSync(work);
  });

  const run = (hook: string, args: string[], input: Buffer, cwd: string) =>
    execa(hook, args, { input, cwd, reject: false, encoding: "buffer", stripFinalNewline: false, timeout: 30_000, env: { ...SANITIZER_ENV, APT_HOOK_INFO_FD: "0", PATH: process.env["PATH"] ?? "/usr/bin:/bin" } });

  /** Every .rec file under DIR, with its path. */
  const records = (root: string): string[] =>
    readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".rec")).map((f) => join(root, f));

  /** The common part of every verdict: exit 0, no report, and a record or one line (not both, not neither). */
  const verdict = (result: Awaited<ReturnType<typeof run>>, root: string): string | null => {
    const stderr = Buffer.from(result.stderr).toString("latin1");
    expect(stderr).not.toMatch(SANITIZER_REPORT);
    expect(result.signal).toBeUndefined();
    expect(result.exitCode).toBe(0);
    const recs = records(root);
    if (recs.length === 0) {
      expect(stderr).toMatch(LINE);
      return null;
    }
    expect(stderr).toBe("");
    expect(recs).toHaveLength(1);
    return recs[0]!;
  };

  /** The record parses; where apt's own action lines are not valid, it parses without them. */
  const parses = (path: string, actions: string[]) => {
    const text = readFileSync(path, "utf8");
    const mtime = statSync(path, { bigint: true }).mtimeNs;
    const valid = actions.every((a) => {
      try {
        parseActionLine(a);
        return true;
      } catch {
        return false;
      }
    });
    if (valid) expect(parseSpoolRecord(text, path, mtime).packages).toHaveLength(actions.length);
    else expect(parseSpoolRecord(text.split("\n").filter((l) => !l.startsWith("action ")).join("\n"), path, mtime).kind).toBe("pre-install");
  };

  const checkPayload = async (payload: Buffer) => {
    const result = await run(pre, ["--spool", join(work, "spool")], payload, work);
    const rec = verdict(result, work);
    const want = model(payload);
    if (want === null || rec === null) {
      expect(rec).toBeNull();
      expect(want === null || Buffer.byteLength(want.tail) + 200 > MAX_SPOOL_RECORD_BYTES).toBe(true);
      return;
    }
    const bytes = readFileSync(rec);
    const header = bytes.subarray(0, bytes.indexOf("\napt ") + 1);
    expect(header.toString("latin1")).toMatch(/^patchroll-spool 1\nkind pre-install\nboot [0-9a-f-]+\n$/);
    const afterApt = bytes.indexOf(0x0a, header.length) + 1;
    expect(bytes.subarray(afterApt).equals(want.tail)).toBe(true);
    parses(rec, want.actions);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work);
  };

  const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
  const noNl = (max: number) => bytes(max).map((b) => Buffer.from(b.filter((c) => c !== 0x0a)));
  const name = fc.stringMatching(/^[a-z0-9][a-z0-9+.-]{1,20}$/);
  const ver = fc.oneof(fc.constant("-"), fc.stringMatching(/^[0-9][0-9a-z.+~]{0,10}(-[0-9a-z.+~]{1,6})?$/));
  const action = fc
    .tuple(name, ver, fc.constantFrom("amd64", "all", "i386"), fc.constantFrom("none", "same", "foreign", "allowed"), fc.constantFrom("<", "=", ">"), ver.filter((v) => v !== "-"), fc.constantFrom("/var/cache/apt/archives/x.deb", "**CONFIGURE**", "**REMOVE**"))
    .map(([p, o, a, m, op, nv, t]) => Buffer.from(`${p} ${o} ${o === "-" ? "-" : a} ${m} ${op} ${nv} ${a} ${m} ${t}`));
  const header = fc.oneof(
    { arbitrary: fc.constant(Buffer.from("VERSION 3")), weight: 8 },
    { arbitrary: fc.constantFrom(...["VERSION 2", "VERSION 3 ", "version 3", "VERSION 3\r", "VERSION 33", "", "VERSION"].map((s) => Buffer.from(s))), weight: 2 },
  );
  const config = fc.oneof(
    noNl(80),
    fc.tuple(fc.constantFrom("CommandLine::AsString=", "commandline::asstring=", "COMMANDLINE::ASSTRING=", "CommandLine::AsString ="), noNl(200)).map(([k, v]) => Buffer.concat([Buffer.from(k), v])),
    fc.constant(Buffer.from("Binary::apt::X=y".padEnd(70_000, "y"))),
  );
  const bodyLine = fc.oneof({ arbitrary: action, weight: 4 }, { arbitrary: noNl(120), weight: 2 }, { arbitrary: fc.nat(200_000).map((k) => Buffer.alloc(k, "z")), weight: 1 });
  const payload = fc
    .tuple(header, fc.array(config, { maxLength: 6 }), fc.boolean(), fc.array(bodyLine, { maxLength: 30 }), fc.boolean())
    .map(([h, cfg, blank, body, finalNl]) => {
      const lines = [h, ...cfg, ...(blank ? [Buffer.alloc(0)] : []), ...body];
      return Buffer.concat([Buffer.concat(lines.flatMap((l, i) => (i === 0 ? [l] : [Buffer.from("\n"), l]))), Buffer.from(finalNl ? "\n" : "")]);
    });

  it("makes the model's record, or one line, of apt data built from valid and broken parts", async () => {
    await fc.assert(fc.asyncProperty(payload, checkPayload), { numRuns: 120 });
  });

  it("makes the model's record, or one line, of random bytes with or without a valid first line", async () => {
    const garbage = fc.tuple(fc.boolean(), bytes(3000), fc.boolean()).map(([v3, b, blank]) => Buffer.concat([Buffer.from(v3 ? `VERSION 3\n${blank ? "\n" : ""}` : ""), b]));
    await fc.assert(fc.asyncProperty(garbage, checkPayload), { numRuns: 120 });
  });

  it("writes thousands of actions as sent", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1000, maxLength: 4000 }), async (actions) => {
        await checkPayload(Buffer.concat([Buffer.from("VERSION 3\nCommandLine::AsString=apt-get%20upgrade\n\n"), ...actions.map((a) => Buffer.concat([a, Buffer.from("\n")]))]));
      }),
      { numRuns: 5 },
    );
  });

  it("writes no record, and leaks nothing, for apt data beyond the daemon's limit", async () => {
    const head = "p 1.0 amd64 none < 2.0 amd64 none /x/";
    const before = Buffer.from("VERSION 3\nCommandLine::AsString=x\n\nq 1 all none < 2 all none /x/q.deb\n");
    // A line longer than the limit; then data just below it, which the record's own lines take over.
    await checkPayload(Buffer.concat([before, Buffer.alloc(17 << 20, "p"), Buffer.from("\n")]));
    await checkPayload(Buffer.concat([before, Buffer.from(`${head}${"p".repeat(MAX_SPOOL_RECORD_BYTES - 100 - head.length)}.deb\n`)]));
  });

  it("exits 0 with a record or one line whatever its arguments", async () => {
    // Relative paths stay inside the test's dir: no "/" and no leading ".".
    const word = fc.string({ maxLength: 12 }).filter((s) => !s.includes("/") && !s.startsWith(".") && !s.includes("\0"));
    const arg = fc.oneof(
      fc.constantFrom("--spool", "--capture", "--capture-max-files", "--timeout", "--", "-", ""),
      fc.constantFrom("0", "1", "00", "99999999999", "-1", "5s"),
      word,
      word.map((w) => `spool-${w}\n`),
    );
    const args = fc.oneof(fc.array(arg, { maxLength: 8 }), fc.tuple(word, fc.array(arg, { maxLength: 4 })).map(([s, rest]) => ["--spool", `s${s}`, ...rest]));
    const input = Buffer.from("VERSION 3\n\nprdemo - - none < 1.0 all none /x/prdemo_1.0_all.deb\n");
    await fc.assert(
      fc.asyncProperty(fc.boolean(), args, async (isPre, argv) => {
        const rec = verdict(await run(isPre ? pre : post, argv, input, work), work);
        if (rec !== null) {
          const text = readFileSync(rec, "utf8");
          expect(parseSpoolRecord(text, rec, statSync(rec, { bigint: true }).mtimeNs).kind).toBe(isPre ? "pre-install" : "post-invoke");
        }
        rmSync(work, { recursive: true, force: true });
        mkdirSync(work);
      }),
      { numRuns: 80 },
    );
  });
});
