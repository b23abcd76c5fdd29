import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SpoolIngest } from "../../src/intake/spool-ingest.js";
import { formatSpoolRecord, type SpoolRecord, spoolRecordName } from "../../src/intake/spool-record.js";
import { createLogger } from "../../src/log/logger.js";

/** Real files in a real dir; only the consumer (onRecord) is the test's. */
async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function logSink() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger("debug", stream) };
}

describe("SpoolIngest", () => {
  let spool: string;
  let ingest: SpoolIngest | undefined;
  let seq = 0n;

  beforeEach(() => {
    spool = mkdtempSync("/var/tmp/patchroll-test-spool-");
    seq = 1795414768297758752n;
  });
  afterEach(async () => {
    await ingest?.stop();
    ingest = undefined;
    rmSync(spool, { recursive: true, force: true });
  });

  const BOOT = "b1825a29-d417-4eb9-9398-fd9814117bdc";

  function recordText(kind: SpoolRecord["kind"], pid: number): string {
    return formatSpoolRecord({
      kind, bootId: BOOT, aptPid: pid, aptStart: 99118, aptComm: "apt-get",
      ...(kind === "pre-install" ? { actions: ["prdemo 1.0 amd64 none < 1.1 amd64 none /x/prdemo_1.1_amd64.deb"] } : {}),
    });
  }

  /** Writes a record the way the hook does: straight under its final name, its time the file's mtime. Returns its id. */
  function spoolRecord(kind: SpoolRecord["kind"] = "pre-install", pid = 8281): string {
    seq += 1_000_000n;
    const name = spoolRecordName(BOOT, 100_000n + seq / 1_000_000n % 100_000n, 4000 + Number(seq % 1000n), kind);
    writeFileSync(join(spool, name), recordText(kind, pid));
    const at = Number(seq / 1_000_000n) / 1000;
    utimesSync(join(spool, name), at, at);
    return name.replace(/\.rec$/, "");
  }

  const recordsLeft = () => readdirSync(spool).filter((f) => f.endsWith(".rec"));

  it("takes the records already there oldest first and deletes each only after onRecord resolved", async () => {
    const ids = [spoolRecord(), spoolRecord("post-invoke"), spoolRecord("pre-install", 9000)];
    const seen: string[] = [];
    const { logger } = logSink();
    ingest = new SpoolIngest({
      spoolDir: spool,
      logger,
      onRecord: async (rec) => {
        expect(existsSync(join(spool, `${rec.id}.rec`))).toBe(true);
        await new Promise((r) => setTimeout(r, 20));
        expect(existsSync(join(spool, `${rec.id}.rec`))).toBe(true);
        seen.push(rec.id);
      },
    });
    expect(ingest.backlog()).toBe(0);
    await ingest.start();
    await until("all three taken", () => seen.length === 3);
    expect(seen).toEqual(ids);
    await until("all deleted", () => recordsLeft().length === 0);
    await until("no backlog", () => ingest!.backlog() === 0); // the count drops just after the unlink
  });

  it("keeps a record while onRecord rejects (Redis down), retries it with backoff, and keeps the order", async () => {
    const [first, second] = [spoolRecord(), spoolRecord("post-invoke")];
    const calls: string[] = [];
    let failures = 3;
    const { logger, lines } = logSink();
    ingest = new SpoolIngest({
      spoolDir: spool,
      logger,
      retryMinMs: 5,
      retryMaxMs: 20,
      onRecord: async (rec) => {
        calls.push(rec.id);
        if (failures > 0) {
          failures--;
          expect(recordsLeft().sort()).toEqual([`${first}.rec`, `${second}.rec`]);
          throw new Error("Redis is down");
        }
      },
    });
    await ingest.start();
    await until("both taken", () => recordsLeft().length === 0);
    expect(calls).toEqual([first, first, first, first, second]);
    expect(lines.filter((l) => String(l["msg"]).includes("stays in the spool"))).toHaveLength(3);
  });

  it("moves a corrupt record to corrupt/ with one clear log line, and goes on with the next", async () => {
    writeFileSync(join(spool, "1000000000000000000-1-pre-install.rec"), "patchroll-spool 1\nkind pre-install\n");
    utimesSync(join(spool, "1000000000000000000-1-pre-install.rec"), 1_000_000_000, 1_000_000_000); // an hour and more ago: not being written
    const good = spoolRecord();
    const seen: string[] = [];
    const { logger, lines } = logSink();
    ingest = new SpoolIngest({ spoolDir: spool, logger, onRecord: async (rec) => void seen.push(rec.id) });
    await ingest.start();
    await until("good record taken", () => seen.length === 1);
    expect(seen).toEqual([good]);
    expect(readdirSync(join(spool, "corrupt"))).toEqual(["1000000000000000000-1-pre-install.rec"]);
    const errors = lines.filter((l) => l["level"] === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]!["file"]).toBe(join(spool, "corrupt", "1000000000000000000-1-pre-install.rec"));
    expect(String(errors[0]!["reason"])).toMatch(/line 2: no end line: the record is incomplete/);
  });

  it("leaves a record without its end line alone while a hook may be writing it, and takes it once complete", async () => {
    const name = spoolRecordName(BOOT, 123, 77, "pre-install");
    const text = recordText("pre-install", 8281);
    writeFileSync(join(spool, name), text.slice(0, text.length - 4)); // all but "end\n"
    const seen: SpoolRecord[] = [];
    const { logger, lines } = logSink();
    ingest = new SpoolIngest({ spoolDir: spool, logger, rescanMs: 3_600_000, incompleteRecheckMs: 5, onRecord: async (rec) => void seen.push(rec) });
    await ingest.start();
    await ingest.drained();
    await ingest.drained();
    expect(seen).toEqual([]);
    expect(ingest.backlog()).toBe(1);
    appendFileSync(join(spool, name), "end\n");
    await until("the completed record taken", () => seen.length === 1);
    expect(seen[0]).toMatchObject({ id: name.replace(/\.rec$/, ""), kind: "pre-install" });
    expect(Date.parse(seen[0]!.time)).toBeGreaterThan(Date.now() - 600_000); // the file's mtime
    expect(lines.filter((l) => (l["level"] as number) >= 40)).toEqual([]);
    expect(existsSync(join(spool, "corrupt", name))).toBe(false);
  });

  it("quarantines a record that stays without its end line past the grace time", async () => {
    const name = spoolRecordName(BOOT, 124, 78, "post-invoke");
    writeFileSync(join(spool, name), "patchroll-spool 1\nkind post-invoke\n");
    const { logger } = logSink();
    ingest = new SpoolIngest({ spoolDir: spool, logger, rescanMs: 20, incompleteGraceMs: 50, incompleteRecheckMs: 5, onRecord: async () => {} });
    await ingest.start();
    await until("quarantined", () => existsSync(join(spool, "corrupt", name)));
  });

  it("notices a new record at once (no rescan needed) and leaves hook temp files alone", async () => {
    const seen: string[] = [];
    const { logger } = logSink();
    ingest = new SpoolIngest({ spoolDir: spool, logger, rescanMs: 3_600_000, onRecord: async (rec) => void seen.push(rec.id) });
    await ingest.start();
    writeFileSync(join(spool, ".tmp-77-pre-install"), "patchroll-spool 1\n");
    const id = spoolRecord();
    await until("new record taken", () => seen.length === 1);
    expect(seen).toEqual([id]);
    expect(readdirSync(spool).sort()).toEqual([".tmp-77-pre-install", "corrupt"]);
  });

  it("stops: waits for the record in hand and leaves the others in the spool", async () => {
    spoolRecord();
    spoolRecord();
    let release: () => void = () => {};
    const { logger } = logSink();
    let calls = 0;
    ingest = new SpoolIngest({
      spoolDir: spool,
      logger,
      onRecord: () => {
        calls++;
        return new Promise<void>((r) => (release = r));
      },
    });
    await ingest.start();
    await until("first record in hand", () => calls === 1);
    expect(ingest.backlog()).toBe(2);
    const stopped = ingest.stop();
    release();
    await stopped;
    expect(calls).toBe(1);
    expect(recordsLeft()).toHaveLength(1);
  });
});
