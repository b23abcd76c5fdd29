import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EXIT } from "../../src/cli/exit-codes.js";
import { main } from "../../src/cli/main.js";
import { RolloutJournal } from "../../src/journal/journal.js";
import { JOURNALS } from "./golden.js";

/** `patchroll report` and `patchroll journal` through main(), on copies of the demo's real journals. */
const scratch = mkdtempSync("/var/tmp/patchroll-test-report-cli-");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const SUCCESS = "20261123T064154Z-492746dc";
const HALTED = "20261123T064200Z-7dc05133";

function journalDir(): string {
  const dir = mkdtempSync(join(scratch, "journal-"));
  mkdirSync(join(dir, "demo"));
  for (const id of [SUCCESS, HALTED]) copyFileSync(join(JOURNALS, "demo", `${id}.jsonl`), join(dir, "demo", `${id}.jsonl`));
  return dir;
}

/** Runs the CLI with its own config file; Redis is pointed at a closed port: reports must not need it. */
async function cli(dir: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const config = join(scratch, "config.yaml");
  writeFileSync(config, `hostId: demo\njournalDir: ${dir}\nstateDir: ${join(scratch, "state")}\nredis:\n  url: redis://127.0.0.1:1\n`);
  let out = "";
  let err = "";
  const code = await main(["-c", config, ...args], { out: (t) => (out += t.endsWith("\n") ? t : `${t}\n`), err: (t) => (err += `${t}\n`) }, {});
  return { code, out, err };
}

describe("patchroll report", () => {
  const doc = ["--doc-root", join(JOURNALS, "doc")];

  it("prints Markdown by default, and the same report as the library, with Redis unreachable", async () => {
    const dir = journalDir();
    const r = await cli(dir, "report", HALTED, ...doc);
    expect(r.code).toBe(EXIT.OK);
    expect(r.out).toMatch(/^# Rollout 20261123T064200Z-7dc05133 on demo: HALTED\n/);
    expect(r.out.replaceAll(JOURNALS, "test/fixtures/journals")).toBe(readFileSync(join(JOURNALS, "golden", "demo-halted.md"), "utf8"));
  });

  it("writes HTML to a file with -o, and takes latest for the newest rollout", async () => {
    const dir = journalDir();
    const file = join(scratch, "out", "latest.html");
    const r = await cli(dir, "report", "latest", "--format", "html", "-o", file, ...doc);
    expect(r.code).toBe(EXIT.OK);
    expect(r.out).toBe("");
    expect(r.err).toContain(`wrote html report to ${file}`);
    expect(readFileSync(file, "utf8")).toContain("<title>Rollout 20261123T064200Z-7dc05133 on demo: HALTED</title>");
  });

  it("--json is --format json: { report }", async () => {
    const r = await cli(journalDir(), "--json", "report", SUCCESS, ...doc);
    const parsed = JSON.parse(r.out) as { report: { v: number; kind: string; outcome: string; cves: { ids: string[] } } };
    expect(parsed.report).toMatchObject({ v: 1, kind: "rollout", outcome: "completed", cves: { ids: ["CVE-2026-10001", "CVE-2026-10002", "CVE-2026-10003"] } });
  });

  it("a digest with --since: counts, outcomes, median, still exposed", async () => {
    const r = await cli(journalDir(), "--json", "report", "--since", "7d", "--until", "2026-11-24T00:00:00Z", ...doc);
    expect(r.code).toBe(EXIT.OK);
    const d = (JSON.parse(r.out) as { digest: Record<string, unknown> }).digest;
    expect(d).toMatchObject({ kind: "digest", since: "2026-11-17T00:00:00.000Z", until: "2026-11-24T00:00:00.000Z", rollouts: { count: 2, outcomes: { completed: 1, halted: 1 } }, medianInstallToAllVerifiedMs: 4759 });
    expect((d["stillExposed"] as unknown[]).length).toBe(4);
    const md = await cli(journalDir(), "report", "--since", "2026-11-23T06:42:00Z", "--until", "2026-11-24T00:00:00Z", ...doc);
    expect(md.out).toContain("1 rollout(s) started on demo");
  });

  it("says what is wrong: unknown rollout, no rollout and no --since, bad format, bad period", async () => {
    const dir = journalDir();
    expect(await cli(dir, "report", "20200101T000000Z-00000000")).toMatchObject({ code: EXIT.NOT_FOUND, err: expect.stringContaining("no journal for rollout 20200101T000000Z-00000000 on host demo") });
    expect((await cli(dir, "report")).code).toBe(EXIT.USAGE);
    expect((await cli(dir, "report", SUCCESS, "--since", "7d")).code).toBe(EXIT.USAGE);
    expect(await cli(dir, "report", SUCCESS, "--format", "pdf")).toMatchObject({ code: EXIT.USAGE, err: expect.stringContaining("--format pdf: expected one of md, html, json") });
    expect(await cli(dir, "report", "--since", "last tuesday")).toMatchObject({ code: EXIT.USAGE, err: expect.stringContaining("expected a duration such as 7d") });
  });
});

describe("patchroll journal", () => {
  it("verify: clean journals exit 0; a torn last line is reported and exits 7", async () => {
    const dir = journalDir();
    const ok = await cli(dir, "--json", "journal", "verify");
    expect(ok.code).toBe(EXIT.OK);
    expect((JSON.parse(ok.out) as { journals: { rollout: string; finished: string }[] }).journals.map((j) => [j.rollout, j.finished])).toEqual([[SUCCESS, "completed"], [HALTED, "halted"]]);
    const file = join(dir, "demo", `${HALTED}.jsonl`);
    writeFileSync(file, readFileSync(file, "utf8").slice(0, -40));
    const torn = await cli(dir, "journal", "verify", HALTED);
    expect(torn.code).toBe(EXIT.FINDINGS);
    expect(torn.out).toContain("line 22: torn last line (write interrupted)");
    expect((await cli(dir, "journal", "verify", "nope")).code).toBe(EXIT.NOT_FOUND);
  });

  it("prune: a dry run names what retention would do; the real run does it", async () => {
    const dir = journalDir();
    const aged = (id: string, daysAgo: number) => {
      const j = new RolloutJournal(dir, "demo", id, () => new Date(Date.now() - daysAgo * 86_400_000));
      j.appendAsWritten({ type: "rollout.planned", data: {} });
      j.appendAsWritten({ type: "rollout.completed", data: {} });
    };
    aged("20250101T000000Z-aaaaaaaa", 700);
    aged("20250201T000000Z-bbbbbbbb", 30);
    const r = await cli(dir, "--set", "journal.keepMin=0", "journal", "prune", "--dry-run");
    expect(r.code).toBe(EXIT.OK);
    expect(r.out).toBe("would compress 1: 20250201T000000Z-bbbbbbbb\nwould delete 1: 20250101T000000Z-aaaaaaaa\n");
    const done = await cli(dir, "--set", "journal.keepMin=0", "--json", "journal", "prune");
    expect((JSON.parse(done.out) as { prune: Record<string, unknown> }).prune).toMatchObject({ dryRun: false, compress: ["20250201T000000Z-bbbbbbbb"], remove: ["20250101T000000Z-aaaaaaaa"] });
    expect(existsSync(join(dir, "demo", "20250201T000000Z-bbbbbbbb.jsonl.gz"))).toBe(true);
    expect((await cli(dir, "journal", "verify", "20250201T000000Z-bbbbbbbb")).code).toBe(EXIT.OK);
  });
});
