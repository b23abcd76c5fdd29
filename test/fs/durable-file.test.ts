import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFileDurableSync, writeFileDurable, writeFileDurableSync } from "../../src/fs/durable-file.js";

describe("durable state files", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "patchroll-durable-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, write] of [
    ["writeFileDurable", writeFileDurable],
    ["writeFileDurableSync", async (file: string, data: string, o?: { mode: number }) => writeFileDurableSync(file, data, o)],
  ] as const) {
    it(`${name}: creates and replaces the file whole, with the mode asked for, and leaves no temporary file`, async () => {
      const file = join(dir, "state.json");
      await write(file, "one\n", { mode: 0o600 });
      expect(readFileSync(file, "utf8")).toBe("one\n");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      await write(file, "two\n");
      expect(readFileSync(file, "utf8")).toBe("two\n");
      expect(readdirSync(dir)).toEqual(["state.json"]);
    });

    it(`${name}: fails clearly and cleans up when the target cannot be replaced`, async () => {
      const target = join(dir, "occupied");
      mkdirSync(join(target, "inside"), { recursive: true });
      await expect(write(target, "x")).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
      expect(readdirSync(dir)).toEqual(["occupied"]);
      await expect(write(join(dir, "missing", "f"), "x")).rejects.toThrow(/ENOENT/);
    });
  }

  it("createFileDurableSync: creates the file whole only when it is missing; the first writer's content stands", () => {
    const file = join(dir, "token");
    expect(createFileDurableSync(file, "first\n", { mode: 0o600 })).toBe(true);
    expect(createFileDurableSync(file, "second\n", { mode: 0o600 })).toBe(false);
    expect(readFileSync(file, "utf8")).toBe("first\n");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(["token"]);
    expect(() => createFileDurableSync(join(dir, "missing", "token"), "x")).toThrow(/ENOENT/);
  });
});
