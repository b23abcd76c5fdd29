import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { EXIT } from "../../src/cli/exit-codes.js";

const BIN = new URL("../../bin/patchroll", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "patchroll-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

/** Runs the built binary (npm test builds first), the way an operator does. */
const patchroll = (...args: string[]) => execa(BIN, args, { reject: false, env: { PATCHROLL_CONFIG: "" }, extendEnv: false });

describe("patchroll config check (built binary)", () => {
  it("rejects a typo'd key, naming the file and the key path", async () => {
    const f = file("typo.yaml", "rollout:\n  batchs: [1, \"100%\"]\n");
    const r = await patchroll("config", "check", f);
    expect(r.exitCode).toBe(EXIT.CONFIG);
    expect(r.stderr).toContain(f);
    expect(r.stderr).toMatch(/rollout\.batchs: unknown key/);
  });

  it("prints the effective configuration with secrets redacted", async () => {
    const f = file("ok.yaml", "hostId: web7\nredis:\n  url: redis://app:s3cret@127.0.0.1:6390/2\n");
    const r = await patchroll("--json", "config", "check", f);
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout) as { valid: boolean; config: { hostId: string; redis: { url: string } } };
    expect(out.valid).toBe(true);
    expect(out.config.hostId).toBe("web7");
    expect(r.stdout).not.toContain("s3cret");
    expect(out.config.redis.url).toBe("redis://app:[redacted]@127.0.0.1:6390/2");
  });

  it("takes a flag over the file", async () => {
    const f = file("flags.yaml", "rollout:\n  bakeMs: 100\n");
    const r = await patchroll("--json", "--set", "rollout.bakeMs=900", "config", "check", f);
    expect(JSON.parse(r.stdout).config.rollout.bakeMs).toBe(900);
  });

  it("answers an unknown command with usage and exit 2", async () => {
    const lines: string[] = [];
    const code = await main(["frobnicate"], { out: (t) => lines.push(t), err: (t) => lines.push(t) }, {});
    expect(code).toBe(EXIT.USAGE);
    expect(lines.join("")).toMatch(/unknown command 'frobnicate'/);
  });
});
