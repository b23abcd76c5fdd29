import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { redact } from "../../src/config/redact.js";

const dirs: string[] = [];
function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "patchroll-config-"));
  dirs.push(dir);
  const file = join(dir, "config.yaml");
  writeFileSync(file, text);
  return file;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("loadConfig", () => {
  it("needs no file: every key has a default", () => {
    const { config, file } = loadConfig({ env: {}, file: undefined });
    expect(file === undefined || file === "/etc/patchroll/config.yaml").toBe(true);
    expect(config.rollout.batches).toEqual([1, "100%"]);
    expect(config.redis.url).toBeUndefined();
    expect(Object.isFrozen(config.rollout)).toBe(true);
  });

  it("rejects a typo'd key and names its path and the file", () => {
    const file = configFile("rollout:\n  batchs: [1, 2]\n");
    expect(() => loadConfig({ env: {}, file })).toThrowError(new RegExp(`${file}[\\s\\S]*rollout\\.batchs: unknown key`));
  });

  it("names the key path, what was expected and what was found", () => {
    const file = configFile("rollout:\n  bakeMs: soon\n");
    expect(() => loadConfig({ env: {}, file })).toThrowError(/rollout\.bakeMs: .*expected number.*found string "soon"/);
  });

  it("takes flag over environment over file over default", () => {
    const file = configFile("rollout:\n  bakeMs: 100\n  maxParallel: 7\nlog:\n  level: warn\n");
    const env = { PATCHROLL_ROLLOUT_BAKE_MS: "200", PATCHROLL_LOG_LEVEL: "debug" };
    const { config } = loadConfig({ env, file, flags: { rollout: { bakeMs: 300 } } });
    expect(config.rollout.bakeMs).toBe(300);
    expect(config.log.level).toBe("debug");
    expect(config.rollout.maxParallel).toBe(7);
    expect(config.rollout.healthyAfter).toBe(2);
  });

  it("parses list values from the environment and rejects unknown PATCHROLL_ names", () => {
    const { config } = loadConfig({ env: { PATCHROLL_ROLLOUT_BATCHES: '[1,"50%"]' } });
    expect(config.rollout.batches).toEqual([1, "50%"]);
    expect(() => loadConfig({ env: { PATCHROLL_ROLLOUT_BATCH: "1" } })).toThrowError(/PATCHROLL_ROLLOUT_BATCH: no such setting/);
  });

  it("rejects a file that is not YAML, or not a mapping", () => {
    expect(() => loadConfig({ env: {}, file: configFile("a: [1,\n") })).toThrowError(/not valid YAML/);
    expect(() => loadConfig({ env: {}, file: configFile("- 1\n") })).toThrowError(/expected a mapping/);
    expect(() => loadConfig({ env: {}, file: "/nonexistent/patchroll.yaml" })).toThrowError(/cannot read/);
  });

  it("redacts passwords, also inside URLs", () => {
    const { config } = loadConfig({ env: {}, flags: { redis: { url: "redis://u:hunter2@127.0.0.1:6379/0", password: "x" } } });
    const text = JSON.stringify(redact(config));
    expect(text).not.toContain("hunter2");
    expect(text).toContain("[redacted]");
  });
});

describe("docs/configuration.md", () => {
  it("is the current rendering of the schema (npm run docs rewrites it)", async () => {
    const { readFileSync } = await import("node:fs");
    const { renderConfigReference } = await import("../../src/config/reference.js");
    const committed = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");
    expect(committed).toBe(renderConfigReference());
    for (const key of ["rollout.batches", "redis.url", "lxc.hostRoot", "PATCHROLL_ROLLOUT_BAKE_MS"]) expect(committed).toContain(key);
  });
});
