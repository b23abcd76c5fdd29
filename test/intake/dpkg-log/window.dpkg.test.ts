import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { dpkgChangesBetween } from "../../../src/intake/dpkg-log/window.js";
import { logrotate, tempDir } from "../tail/log-helpers.js";
import { buildDeb } from "../uu-log/uu-sandbox.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

describe("dpkgChangesBetween on a log written by the real dpkg", () => {
  it("gives every change in the window, in order, through rotation, and nothing outside it", async () => {
    const t = tempDir("dpkg-window");
    cleanups.push(t.cleanup);
    const root = join(t.dir, "root");
    for (const d of ["var/lib/dpkg/updates", "var/lib/dpkg/info"]) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, "var/lib/dpkg/status"), "");
    mkdirSync(join(t.dir, "log"));
    const log = join(t.dir, "log", "dpkg.log");
    const dpkg = async (...args: string[]) => {
      const r = await execa("dpkg", [`--root=${root}`, `--log=${log}`, "--force-not-root", "--force-script-chrootless", ...args], { reject: false, timeout: 60_000 });
      if (r.exitCode !== 0) throw new Error(r.stderr);
    };
    const install = async (name: string, version: string) => dpkg("-i", await buildDeb(t.dir, t.dir, name, version));

    await install("prwa", "1.0");
    const start = Date.now() - 1000;
    await install("prwa", "1.1");
    await logrotate(t.dir, log, ["rotate 5", "compress", "delaycompress", "create 644 root root"]);
    await install("prwb", "2.0");
    await dpkg("-r", "prwa");
    const end = Date.now() + 1000;
    const changes = await dpkgChangesBetween(log, start, end);
    const flat = changes.map((c) => `${c.action} ${c.name}:${c.arch} ${c.from ?? "-"} ${c.to ?? "-"}`);
    // dpkg.log has whole seconds: the install of 1.0 may share its second with the window's start
    expect(flat.filter((l) => l !== "install prwa:all - 1.0")).toEqual(["upgrade prwa:all 1.0 1.1", "install prwb:all - 2.0", "remove prwa:all 1.1 -"]);
    expect(await dpkgChangesBetween(log, end + 60_000, end + 120_000)).toEqual([]);
    expect(await dpkgChangesBetween(join(t.dir, "missing.log"), start, end)).toEqual([]);
  });
});
