import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HOOK_VARIANTS, type HookVariant, hookVariant, patchrollLines, payload, runHook } from "./hook-variants.js";

/**
 * The hooks, compiled and sh, with a spool dir on a read-only or a full filesystem (a tmpfs mounted for
 * the test, as root): apt must go on, with one "patchroll:" line per hook and no record or scrap left.
 */
describe.each(HOOK_VARIANTS)("apt hooks (%s) on a spool that cannot take a record", (variant) => {
  let v: HookVariant & { cleanup: () => void };
  let dir: string;
  let spool: string;

  beforeAll(async () => {
    v = await hookVariant(variant);
  });
  afterAll(() => v.cleanup());
  beforeEach(() => {
    dir = mkdtempSync("/var/tmp/patchroll-test-hooks-root-");
    spool = join(dir, "spool");
    mkdirSync(spool);
  });
  afterEach(async () => {
    await execa("umount", [spool], { reject: false });
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ["read-only", "ro,size=1m", /^patchroll: apt-(pre-install-pkgs|post-invoke): spool dir .* is not writable \(read-only filesystem\?\), no record written; apt goes on, reconciliation will catch up$/],
    ["full", "size=16k", /^patchroll: apt-(pre-install-pkgs|post-invoke): could not write the spool record in .* \(disk full\?\); apt goes on, reconciliation will catch up$/],
  ])("%s: exits 0 with one patchroll: line per hook and leaves nothing", async (_what, options, reason) => {
    await execa("mount", ["-t", "tmpfs", "-o", options, "patchroll-test-spool", spool]);
    if (!options.startsWith("ro")) {
      writeFileSync(join(spool, "filler"), Buffer.alloc(12 * 1024));
      await execa("sh", ["-c", 'dd if=/dev/zero of="$1/filler2" bs=1k 2>/dev/null || true', "sh", spool]);
    }
    const big = Array.from({ length: 50 }, (_, i) => `p${i} 1.0 amd64 none < 2.0 amd64 none /var/cache/apt/archives/p${i}_2.0_amd64.deb`);
    for (const hook of [v.pre, v.post]) {
      const result = await runHook(hook, ["--spool", spool], payload(big));
      expect(result.exitCode).toBe(0);
      expect(patchrollLines(result.stderr)).toEqual([expect.stringMatching(reason)]);
    }
    expect(readdirSync(spool).filter((f) => !f.startsWith("filler"))).toEqual([]);
  });
});
