import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSanitized, HAVE_CC, SANITIZER_ENV, SANITIZER_REPORT, TSAN_ENV } from "../helpers/sanitized.js";
import { buildOverlayDelta, compareTrees, modifyHeavily } from "../helpers/tree-compare.js";

/**
 * native/prcopy.c built with ThreadSanitizer (its walk and its copy run on several threads sharing one
 * table of entries) and with AddressSanitizer + UBSan, copying the overlay fixture plus many dirs of small
 * files: a whole copy, a catch-up after every kind of change, and a tolerant pass while another process
 * keeps renaming, writing and removing under it. Each run must exit 0 with no report, and the stopped
 * passes must leave an exact copy.
 */
const SOURCE = fileURLToPath(new URL("../../native/prcopy.c", import.meta.url));

async function addManyDirs(delta: string): Promise<void> {
  for (let d = 0; d < 24; d += 1) {
    const dir = join(delta, "cache", `d${d}`, `sub${d % 3}`);
    await mkdir(dir, { recursive: true });
    for (let f = 0; f < 40; f += 1) await writeFile(join(dir, `f${f}`), `${d}/${f}\n`.repeat(f + 1));
  }
}

describe.skipIf(!HAVE_CC)("prcopy under the sanitizers (real filesystem, root)", () => {
  let dir = "";
  const builds: { name: string; bin: string; env: Record<string, string> }[] = [];

  beforeAll(async () => {
    dir = await mkdtemp("/var/tmp/patchroll-test-prcopy-san-");
    const asan = join(dir, "prcopy-asan");
    const tsan = join(dir, "prcopy-tsan");
    await Promise.all([buildSanitized(SOURCE, asan), buildSanitized(SOURCE, tsan, "thread")]);
    // prcopy frees nothing it needs until it exits: leaks are not what this looks for.
    builds.push({ name: "address,undefined", bin: asan, env: { ...SANITIZER_ENV, ASAN_OPTIONS: `${SANITIZER_ENV.ASAN_OPTIONS}:detect_leaks=0` } });
    builds.push({ name: "thread", bin: tsan, env: { ...TSAN_ENV } });
  }, 120_000);
  afterAll(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  const run = async (bin: string, env: Record<string, string>, args: string[]) => {
    const r = await execa(bin, ["--jobs", "4", ...args], { env: { ...process.env, ...env }, reject: false });
    expect(r.stderr).not.toMatch(SANITIZER_REPORT);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    return r.stdout;
  };

  /** The build `name`, and a fresh place for a test's delta, its copy and the copy's manifest. */
  const setUp = async (name: string, what: string) => {
    const build = builds.find((b) => b.name === name)!;
    const here = join(dir, `${what}-${name.replace(",", "-")}`);
    await mkdir(here);
    return { ...build, delta: join(here, "delta"), copy: join(here, "copy"), manifest: join(here, "manifest") };
  };

  for (const name of ["address,undefined", "thread"]) {
    it(`copies exactly, then catches up exactly (${name})`, async () => {
      const { bin, env, delta, copy, manifest } = await setUp(name, "exact");
      await buildOverlayDelta(delta);
      await addManyDirs(delta);
      await run(bin, env, ["--manifest", manifest, "--sync", "none", delta, copy]);
      expect(await compareTrees(delta, copy)).toEqual([]);
      await modifyHeavily(delta);
      await rename(join(delta, "cache/d3"), join(delta, "cache/d3-moved"));
      const out = await run(bin, env, ["--manifest", manifest, "--sync", "none", delta, copy]);
      expect(out).toMatch(/^entries \d+ copied [1-9]/);
      expect(await compareTrees(delta, copy)).toEqual([]);
    }, 120_000);

    it(`copies an empty dir (${name})`, async () => {
      const { bin, env, delta, copy, manifest } = await setUp(name, "empty");
      await mkdir(delta);
      await run(bin, env, ["--manifest", manifest, "--sync", "none", delta, copy]);
      expect(await compareTrees(delta, copy)).toEqual([]);
    });

    it(`survives a tree changing under a tolerant pass, then copies the stopped tree exactly (${name})`, async () => {
      const { bin, env, delta, copy, manifest } = await setUp(name, "busy");
      await mkdir(delta);
      await addManyDirs(delta);
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing; i += 1) {
          const d = join(delta, "cache", `d${i % 24}`);
          await rename(d, `${d}-x`).then(() => rename(`${d}-x`, d)).catch(() => undefined);
          await writeFile(join(delta, "cache", `d${(i + 7) % 24}`, `sub${(i + 7) % 3}`, `new${i % 50}`), `${i}\n`).catch(() => undefined);
          await rm(join(delta, "cache", `d${(i + 11) % 24}`, `sub${(i + 11) % 3}`, `f${i % 40}`), { force: true }).catch(() => undefined);
        }
      })();
      try {
        for (let pass = 0; pass < 4; pass += 1) await run(bin, env, ["--tolerant", "--manifest", manifest, "--sync", "none", delta, copy]);
      } finally {
        writing = false;
        await writer;
      }
      await run(bin, env, ["--manifest", manifest, "--sync", "none", delta, copy]);
      expect(await compareTrees(delta, copy)).toEqual([]);
    }, 180_000);
  }
});
