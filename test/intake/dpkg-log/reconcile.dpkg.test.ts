import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import type { PackageChange } from "../../../src/intake/apt-event.js";
import { reconcileDpkgLog, type ReconcileOptions } from "../../../src/intake/dpkg-log/reconcile.js";
import { logrotate, tempDir } from "../tail/log-helpers.js";
import { buildDeb } from "../uu-log/uu-sandbox.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/**
 * The real dpkg on a private root (`--root`, `--log`): real dpkg.log lines without touching the
 * machine's packages or its dpkg lock.
 */
async function dpkgSandbox(label: string) {
  const t = tempDir(label);
  cleanups.push(t.cleanup);
  const root = join(t.dir, "root");
  for (const d of ["var/lib/dpkg/updates", "var/lib/dpkg/info", "log", "debs", "state"]) mkdirSync(join(d.startsWith("var") ? root : t.dir, d), { recursive: true });
  writeFileSync(join(root, "var/lib/dpkg/status"), "");
  const log = join(t.dir, "log", "dpkg.log");
  const dpkg = async (...args: string[]): Promise<void> => {
    const r = await execa("dpkg", [`--root=${root}`, `--log=${log}`, "--force-not-root", "--force-script-chrootless", ...args], { reject: false, timeout: 60_000 });
    if (r.exitCode !== 0) throw new Error(`dpkg ${args.join(" ")}: ${r.stderr}`);
  };
  const install = async (name: string, version = "1.0"): Promise<void> => dpkg("-i", await buildDeb(t.dir, join(t.dir, "debs"), name, version));
  const rotate = () => logrotate(t.dir, log, ["monthly", "rotate 12", "compress", "delaycompress", "missingok", "notifempty", "create 644 root root"]);
  const opts = (o: Partial<ReconcileOptions> = {}): ReconcileOptions => ({ logPath: log, checkpointFile: join(t.dir, "state", "dpkg-log.json"), settleSeconds: 0, ...o });
  return { dir: t.dir, log, dpkg, install, rotate, opts };
}

const flat = (groups: { packages: PackageChange[] }[]): string[] => groups.flatMap((g) => g.packages.map((p) => `${p.action} ${p.name} ${p.from ?? "-"} ${p.to ?? "-"}`));

describe("reconcileDpkgLog on logs written by the real dpkg", () => {
  it("first call is a baseline; after that it returns exactly the changes not yet committed", async () => {
    const s = await dpkgSandbox("rec-baseline");
    await s.install("prold");
    const first = await reconcileDpkgLog(s.opts());
    expect(first).toMatchObject({ baseline: true, groups: [], warnings: [] });
    await first.commit();

    await s.install("prnew");
    await s.install("prnew", "2.0");
    const second = await reconcileDpkgLog(s.opts());
    expect(second.baseline).toBe(false);
    expect(second.warnings).toEqual([]);
    expect(flat(second.groups)).toEqual(["install prnew - 2.0"]); // both dpkg runs in one second: one group, net change
    expect(second.groups[0]!.packages[0]!.arch).toBe("all");

    // Not committed (say the daemon died before enqueueing): the same changes come back.
    expect(flat((await reconcileDpkgLog(s.opts())).groups)).toEqual(["install prnew - 2.0"]);
    await second.commit();
    expect((await reconcileDpkgLog(s.opts())).groups).toEqual([]);
  });

  it("follows the log through logrotate (create, delaycompress; .1 then .2.gz) without loss or repeats", async () => {
    const s = await dpkgSandbox("rec-rotate");
    const seen: string[] = [];
    const step = async (): Promise<void> => {
      const r = await reconcileDpkgLog(s.opts({ joinGapSeconds: -1 }));
      expect(r.warnings).toEqual([]);
      seen.push(...flat(r.groups));
      await r.commit();
    };
    await (await reconcileDpkgLog(s.opts())).commit(); // baseline on a log that does not exist yet
    await s.install("pra");
    await step();
    await s.install("prb");
    await s.rotate();
    await s.install("prc");
    await s.rotate();
    expect(readdirSync(join(s.dir, "log")).sort()).toEqual(["dpkg.log", "dpkg.log.1", "dpkg.log.2.gz"]);
    await s.install("prd");
    await step(); // prb is in dpkg.log.2.gz, prc in dpkg.log.1, prd in dpkg.log
    await s.dpkg("-r", "pra");
    await s.rotate();
    await step();
    await step();
    expect(seen).toEqual(["install pra - 1.0", "install prb - 1.0", "install prc - 1.0", "install prd - 1.0", "remove pra 1.0 -"]);
  });

  it("with `since` and no checkpoint, starts at that time instead of a baseline", async () => {
    const s = await dpkgSandbox("rec-since");
    await s.install("prone");
    const r = await reconcileDpkgLog(s.opts({ since: new Date(Date.now() - 3600_000) }));
    expect(r.baseline).toBe(false);
    expect(flat(r.groups)).toEqual(["install prone - 1.0"]);
    expect((await reconcileDpkgLog(s.opts({ since: new Date(Date.now() + 3600_000) }))).groups).toEqual([]);
  });

  it("leaves a group that may still be growing (dpkg running) for the next call", async () => {
    const s = await dpkgSandbox("rec-settle");
    await (await reconcileDpkgLog(s.opts())).commit();
    await s.install("prlate");
    const young = await reconcileDpkgLog(s.opts({ settleSeconds: 60, now: () => new Date() }));
    expect(young.groups).toEqual([]);
    await young.commit();
    const later = await reconcileDpkgLog(s.opts({ settleSeconds: 60, now: () => new Date(Date.now() + 120_000) }));
    expect(flat(later.groups)).toEqual(["install prlate - 1.0"]);
  });

  it("warns and goes on when the checkpoint is damaged or its line is gone", async () => {
    const s = await dpkgSandbox("rec-damaged");
    await s.install("prx");
    const o = s.opts({ since: new Date(Date.now() - 3600_000) });
    writeFileSync(o.checkpointFile, "{oops");
    const r = await reconcileDpkgLog(o);
    expect(r.warnings.map((w) => w.message).join()).toMatch(/unreadable dpkg.log checkpoint/);
    expect(flat(r.groups)).toEqual(["install prx - 1.0"]);
    writeFileSync(o.checkpointFile, JSON.stringify({ v: 1, stamp: "2000-01-01 00:00:00", seq: 3, lineSha256: "x", committedAt: "" }));
    const gone = await reconcileDpkgLog(s.opts());
    expect(gone.warnings.map((w) => w.message).join()).toMatch(/not where expected/);
    expect(flat(gone.groups)).toEqual(["install prx - 1.0"]);
  });
});
