import { mkdtempSync, rmSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSanitized, HAVE_CC, SANITIZER_ENV, SANITIZER_REPORT } from "../helpers/sanitized.js";
import { frame, killFrame, PrspawnDriver, type Reply, runBody, runFrame } from "./prspawn-driver.js";

/**
 * native/prspawn.c built with AddressSanitizer, LeakSanitizer and UBSan, driven over its own protocol with
 * random streams of valid and invalid requests: it must answer every valid request exactly once, never
 * answer for an id it was not sent, show no sanitizer report, and exit cleanly when its stdin closes.
 */
const SOURCE = fileURLToPath(new URL("../../native/prspawn.c", import.meta.url));
const { EINVAL, ENOENT, EACCES } = constants.errno;
const { SIGTERM, SIGKILL } = constants.signals;

describe.skipIf(!HAVE_CC)("prspawn under the sanitizers", () => {
  let dir: string;
  let bin: string;
  const env = { ...process.env, ...SANITIZER_ENV };
  const start = (wrapper: readonly string[] = []) => new PrspawnDriver(bin, env, wrapper);

  beforeAll(async () => {
    dir = mkdtempSync("/var/tmp/patchroll-test-prspawn-san-");
    bin = join(dir, "prspawn");
    await buildSanitized(SOURCE, bin);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const clean = async (p: PrspawnDriver) => {
    const exit = await p.end();
    expect(p.stderr).not.toMatch(SANITIZER_REPORT);
    expect(p.stderr).toBe("");
    expect(exit).toEqual({ code: 0, signal: null });
  };

  it("exits 0 with nothing on stderr when its stdin closes, idle or after work", async () => {
    await clean(start());
    const p = start();
    p.send(runFrame(1, ["/bin/echo", "hi"]));
    await p.until((r) => r.some((x) => x.type === "X"));
    expect(p.replies.map((r) => [r.type, r.id])).toEqual([["P", 1], ["X", 1]]);
    expect(p.replies[1]!.out.toString()).toBe("hi\n");
    await clean(p);
  });

  it("exits at once when its stdin closes while children run; the children go on", async () => {
    const p = start();
    p.send(runFrame(1, ["sleep", "2"]));
    await p.until((r) => r.length === 1);
    const started = Date.now();
    await clean(p);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(() => process.kill(p.replies[0]!.fields[0]!, 0)).not.toThrow();
    process.kill(p.replies[0]!.fields[0]!, "SIGKILL");
  });

  it("reports a child whose pipes close early when it exits, and one that leaves a process holding them once that grace is over", async () => {
    const p = start();
    p.send(runFrame(1, ["/bin/sh", "-c", "echo early; exec >&- 2>&-; sleep 0.3"]));
    p.send(runFrame(2, ["/bin/sh", "-c", "echo parent; sleep 5 & exit 3"]));
    const sent = Date.now();
    await p.until((r) => r.filter((x) => x.type === "X").length === 2, 15_000);
    const x = (id: number) => p.replies.find((r) => r.type === "X" && r.id === id)!;
    expect(x(1).fields.slice(0, 2)).toEqual([0, 0]);
    expect(x(1).out.toString()).toBe("early\n");
    expect(x(2).fields.slice(0, 2)).toEqual([3, 0]);
    expect(x(2).out.toString()).toBe("parent\n");
    expect(Date.now() - sent).toBeGreaterThanOrEqual(1900);
    await clean(p);
  });

  it("reports its children when it was started with SIGCHLD ignored (the kernel would reap them unseen)", async () => {
    // An ignored signal stays ignored across exec: perl sets it, then becomes prspawn.
    const p = start(["perl", "-e", '$SIG{CHLD} = "IGNORE"; exec @ARGV or die']);
    p.send(runFrame(1, ["/bin/sh", "-c", "exit 7"]));
    await p.until((r) => r.some((x) => x.type === "X"), 5_000);
    expect(p.replies.find((r) => r.type === "X")!.fields.slice(0, 2)).toEqual([7, 0]);
    await clean(p);
  });

  it.each([
    ["0", 0],
    ["larger than a request may be", 0xffffffff],
  ])("exits 1 saying so on a frame length of %s, after answering the requests before it", async (_what, length) => {
    const p = start();
    const bad = Buffer.alloc(8);
    bad.writeUInt32LE(length, 0);
    p.send(Buffer.concat([runFrame(1, ["/bin/true"]), bad]));
    const exit = await p.exited;
    expect(exit).toEqual({ code: 1, signal: null });
    expect(p.stderr).not.toMatch(SANITIZER_REPORT);
    expect(p.stderr).toBe(`prspawn: bad frame length ${length}\n`);
    expect(p.replies[0]).toMatchObject({ type: "P", id: 1 });
  });

  /** A valid request and what its final reply must be. */
  interface Valid {
    argv: string[];
    env: string[];
    timeoutMs: number;
    kill?: number;
    expect: (final: Reply) => void;
  }
  const ok = (code: number, out?: string, err?: string) => (f: Reply) => {
    expect(f.type).toBe("X");
    expect(f.fields.slice(0, 3)).toEqual([code, 0, 0]);
    if (out !== undefined) expect(f.out.toString()).toBe(out);
    if (err !== undefined) expect(f.err.toString()).toBe(err);
  };
  const failed = (errno: number) => (f: Reply) => expect(f).toMatchObject({ type: "F", fields: [errno] });
  const signalled = (sig: number, timedOut: number) => (f: Reply) => {
    expect(f.type).toBe("X");
    expect(f.fields.slice(0, 3)).toEqual([255, sig, timedOut]);
  };
  const text = fc.string({ unit: "grapheme", maxLength: 40 }).map((s) => s.replace(/\0/g, ""));
  const envVars = fc.array(fc.tuple(fc.stringMatching(/^PR_[A-Z_]{1,8}$/), text).map(([k, v]) => `${k}=${v}`), { maxLength: 4 });
  const valid: fc.Arbitrary<Valid> = fc.oneof(
    fc.constant<Valid>({ argv: ["/bin/true"], env: [], timeoutMs: 0, expect: ok(0, "", "") }),
    fc.integer({ min: 0, max: 254 }).map((n): Valid => ({ argv: ["/bin/sh", "-c", `exit ${n}`], env: [], timeoutMs: 0, expect: ok(n) })),
    fc.tuple(text, text, envVars).map(([o, e, vars]): Valid => ({ argv: ["/bin/sh", "-c", 'printf %s "$1"; printf %s "$2" >&2', "sh", o, e], env: vars, timeoutMs: 0, expect: ok(0, o, e) })),
    fc.integer({ min: 0, max: 300_000 }).map((n): Valid => ({ argv: ["head", "-c", String(n), "/dev/zero"], env: [], timeoutMs: 0, expect: (f) => { ok(0)(f); expect(f.out.length).toBe(n); } })),
    fc.constant<Valid>({ argv: ["patchroll-no-such-tool"], env: [], timeoutMs: 0, expect: failed(ENOENT) }),
    fc.constant<Valid>({ argv: ["/"], env: [], timeoutMs: 0, expect: failed(EACCES) }),
    fc.constant<Valid>({ argv: ["sleep", "5"], env: [], timeoutMs: 30, expect: signalled(SIGTERM, 1) }),
    fc.constant<Valid>({ argv: ["sleep", "5"], env: [], timeoutMs: 0, kill: SIGKILL, expect: signalled(SIGKILL, 0) }),
    fc.constant<Valid>({ argv: ["/bin/sh", "-c", "exec >&- 2>&-; sleep 0.05"], env: [], timeoutMs: 0, expect: ok(0, "", "") }),
  );
  /** Invalid requests; those with an id get ids from 1e6 on, never a valid request's. */
  const nul = (...s: string[]) => Buffer.from(s.map((x) => `${x}\0`).join(""));
  const invalid = fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 255 }).filter((t) => t !== 0x52 && t !== 0x4b), fc.uint8Array({ maxLength: 40 })).map(([t, rest]) => ({ body: Buffer.from([t, ...rest]), errno: undefined })),
    fc.uint8Array({ maxLength: 19 }).map((rest) => ({ body: Buffer.from([0x52, ...rest]), errno: undefined })),
    fc.constant({ body: runBody(1e6, 0, 0, 0, 0, nul("/bin/true")), errno: EINVAL }),
    fc.integer({ min: 2, max: 0xffffffff }).map((argc) => ({ body: runBody(1e6, 0, 0, argc, 0, nul("/bin/true")), errno: EINVAL })),
    fc.integer({ min: 1, max: 0xffffffff }).map((envc) => ({ body: runBody(1e6, 0, 0, 1, envc, nul("/bin/true")), errno: EINVAL })),
    fc.constant({ body: runBody(1e6, 0, 0, 2, 0, Buffer.from("/bin/echo\0no-nul")), errno: EINVAL }),
    fc.integer({ min: 1, max: 64 }).map((sig) => ({ body: killFrame(2e6, sig).subarray(4), errno: undefined })),
    fc.uint8Array({ maxLength: 7 }).map((rest) => ({ body: Buffer.from([0x4b, ...rest]), errno: undefined })),
  );
  const request = fc.oneof({ arbitrary: valid.map((v) => ({ valid: v })), weight: 3 }, { arbitrary: invalid.map((i) => ({ invalid: i })), weight: 2 });

  it("answers every valid request exactly once, never an invalid one but with EINVAL, in streams cut anywhere", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 30 }), fc.array(fc.nat(), { maxLength: 6 }), async (requests, cuts) => {
        const p = start();
        const expected = new Map<number, Valid>();
        const invalidErrno = new Map<number, number | undefined>();
        const frames: Buffer[] = [];
        requests.forEach((r, i) => {
          if ("valid" in r) {
            const id = i + 1;
            expected.set(id, r.valid);
            frames.push(runFrame(id, r.valid.argv, ["PATH=/usr/bin:/bin", ...r.valid.env], r.valid.timeoutMs, 200));
            if (r.valid.kill !== undefined) frames.push(killFrame(id, r.valid.kill));
          } else {
            const body = Buffer.from(r.invalid.body);
            if (body.length >= 5 && body[0] === 0x52) body.writeUInt32LE(1e6 + i, 1);
            if (body.length >= 5) invalidErrno.set(body.readUInt32LE(1), r.invalid.errno);
            frames.push(frame(body));
          }
        });
        const stream = Buffer.concat(frames);
        const at = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        let from = 0;
        for (const to of [...at, stream.length]) {
          p.send(stream.subarray(from, to));
          from = to;
          await new Promise((r) => setTimeout(r, 1));
        }
        const finals = (rs: readonly Reply[]) => rs.filter((r) => r.type !== "P" && expected.has(r.id)).length;
        await p.until((rs) => finals(rs) >= expected.size, 20_000);
        // Anything an invalid request might wrongly draw comes in the same stream order: a last no-op
        // request's answer means every earlier frame has been read.
        p.send(runFrame(9e6, ["/bin/true"]));
        await p.until((rs) => rs.some((r) => r.id === 9e6 && r.type === "X"));
        for (const [id, v] of expected) {
          const mine = p.replies.filter((r) => r.id === id);
          const final = mine.filter((r) => r.type !== "P");
          expect(final, `request ${id} ${JSON.stringify(v.argv)}`).toHaveLength(1);
          v.expect(final[0]!);
          expect(mine.map((r) => r.type)).toEqual(final[0]!.type === "F" ? ["F"] : ["P", "X"]);
        }
        for (const r of p.replies.filter((x) => !expected.has(x.id) && x.id !== 9e6)) {
          expect(invalidErrno.has(r.id), `a reply for id ${r.id}, never sent`).toBe(true);
          expect(r).toMatchObject({ type: "F", fields: [invalidErrno.get(r.id)] });
        }
        expect(new Set(p.replies.map((r) => `${r.type}${r.id}`)).size).toBe(p.replies.length);
        await clean(p);
      }),
      { numRuns: 60 },
    );
  });
});
