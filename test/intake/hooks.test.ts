import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseSpoolRecord } from "../../src/intake/spool-record.js";
import { HOOKS_DIR } from "../helpers/apt.js";

/**
 * The hooks run directly, the way apt runs them (payload on stdin, `sh -c`), without dpkg: what they
 * write, and that they exit 0 with one "patchroll:" line whatever goes wrong. Real apt runs are in
 * hooks.apt.test.ts.
 */
const PRE = join(HOOKS_DIR, "apt-pre-install-pkgs");
const POST = join(HOOKS_DIR, "apt-post-invoke");

function payload(actions: string[], version = 3): string {
  return [`VERSION ${version}`, "APT::Architecture=amd64", "CommandLine::AsString=apt-get%20install%20prdemo", "Dir::Cache=var/cache/apt/", "", ...actions, ""].join("\n");
}

function runHook(hook: string, args: string[], input: string) {
  return execa(hook, args, { input, reject: false, timeout: 30_000, forceKillAfterDelay: 2_000, env: { APT_HOOK_INFO_FD: "0" } });
}

function patchrollLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.startsWith("patchroll:"));
}

describe("apt hooks, run directly", () => {
  let dir: string;
  let spool: string;

  beforeEach(() => {
    dir = mkdtempSync("/var/tmp/patchroll-test-hooks-");
    spool = join(dir, "spool");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const records = () => readdirSync(spool).filter((f) => f.endsWith(".rec")).sort((a, b) => Number(statSync(join(spool, a), { bigint: true }).mtimeNs - statSync(join(spool, b), { bigint: true }).mtimeNs));
  const read = (name: string) => parseSpoolRecord(readFileSync(join(spool, name), "utf8"), name, statSync(join(spool, name), { bigint: true }).mtimeNs);

  it("pre-install writes one parseable record with the action lines and the command line, and no temp file", async () => {
    const lines = ["prdemo 1.0 amd64 none < 1.1 amd64 none /var/cache/apt/archives/prdemo_1.1_amd64.deb", "prdemo 1.0 amd64 none < 1.1 amd64 none **CONFIGURE**"];
    const result = await runHook(PRE, ["--spool", spool], payload(lines));
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe("");
    expect(readdirSync(spool).filter((f) => f.startsWith("."))).toEqual([]);
    const [name] = records();
    const rec = read(name!);
    expect(rec.kind).toBe("pre-install");
    expect(rec.commandLine).toBe("apt-get install prdemo");
    expect(rec.packages).toEqual([
      { name: "prdemo", arch: "amd64", from: "1.0", to: "1.1", action: "upgrade" },
      { name: "prdemo", arch: "amd64", from: "1.0", to: "1.1", action: "upgrade" },
    ]);
    expect(rec.aptPid).toBeGreaterThan(0);
    expect(statSync(join(spool, name!)).mode & 0o777).toBe(0o640);
  });

  it("names a record boot-uptime-pid-kind, writes no time into it (its mtime is the time) and leaves no other file", async () => {
    const before = Date.now();
    await runHook(PRE, ["--spool", spool], payload(["prdemo - - none < 1.0 all none /x/prdemo_1.0_all.deb"]));
    await runHook(POST, ["--spool", spool], "");
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim().split("-")[0]!;
    const names = records();
    expect(readdirSync(spool).sort()).toEqual([...names].sort());
    expect(names).toEqual([expect.stringMatching(new RegExp(`^${boot}-\\d+-\\d+-pre-install\\.rec$`)), expect.stringMatching(new RegExp(`^${boot}-\\d+-\\d+-post-invoke\\.rec$`))]);
    for (const name of names) {
      expect(readFileSync(join(spool, name), "utf8")).not.toContain("time-ns");
      const rec = read(name);
      expect(Date.parse(rec.time)).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(rec.time)).toBeLessThanOrEqual(Date.now() + 1000);
    }
  });

  it("post-invoke writes a dpkg-finished record of the same run", async () => {
    await runHook(PRE, ["--spool", spool], payload(["prdemo - - none < 1.0 all none /x/prdemo_1.0_all.deb"]));
    const result = await runHook(POST, ["--spool", spool], "");
    expect(result.exitCode).toBe(0);
    const [pre, post] = records().map(read);
    expect(post).toMatchObject({ kind: "post-invoke", packages: [] });
    expect(post!.runKey).toBe(pre!.runKey);
  });

  it("exits 0 with one patchroll: line and no record when apt speaks protocol version 2", async () => {
    const result = await runHook(PRE, ["--spool", spool], payload(["prdemo 1.0 < 1.1 /x.deb"], 2));
    expect(result.exitCode).toBe(0);
    expect(patchrollLines(result.stderr)).toEqual([expect.stringMatching(/^patchroll: apt-pre-install-pkgs: apt did not send hook protocol version 3 .*reconciliation will catch up$/)]);
    expect(records()).toEqual([]);
  });

  it.each([
    ["no --spool", []],
    ["an unknown option", ["--spool", "/tmp/x", "--frobnicate"]],
    ["an option without value", ["--spool"]],
  ])("exits 0 with one patchroll: line on %s", async (_what, args) => {
    for (const hook of [PRE, POST]) {
      const result = await runHook(hook, args, payload([]));
      expect(result.exitCode).toBe(0);
      expect(patchrollLines(result.stderr)).toHaveLength(1);
    }
  });

  it("exits 0 with one patchroll: line when the spool dir cannot be created", async () => {
    writeFileSync(join(dir, "file"), "");
    for (const hook of [PRE, POST]) {
      const result = await runHook(hook, ["--spool", join(dir, "file", "spool")], payload(["prdemo - - none < 1.0 all none /x.deb"]));
      expect(result.exitCode).toBe(0);
      expect(patchrollLines(result.stderr)).toEqual([expect.stringContaining("cannot create spool dir")]);
    }
  });

  it("is stopped by its own time bound when apt's data never ends, and still exits 0", async () => {
    const hook = execa(PRE, ["--spool", spool, "--timeout", "1"], { stdin: "pipe", reject: false, timeout: 30_000, forceKillAfterDelay: 2_000 });
    hook.stdin.write("VERSION 3\n"); // and never closed, like a hung apt
    const result = await hook;
    expect(result.exitCode).toBe(0);
    expect(patchrollLines(result.stderr)).toEqual(["patchroll: apt-pre-install-pkgs did not finish within 1s and was stopped; apt goes on, reconciliation will catch up"]);
    expect(records()).toEqual([]);
  });

  describe("capture", () => {
    // dash is installed on every Debian host; capturing it only adds hard links to its files.
    const dash = () => execa("dpkg-query", ["-W", "-f", "${Version} ${Architecture} ${Multi-Arch}", "dash"]).then((r) => r.stdout.split(" "));

    it("hard-links the files of a package about to be replaced, with paths, list and manifest", async () => {
      const [version, arch, multi] = await dash();
      const capture = join(dir, "capture");
      const result = await runHook(PRE, ["--spool", spool, "--capture", capture], payload([`dash ${version} ${arch} ${multi} < 99.0 ${arch} ${multi} /x/dash_99.0.deb`]));
      expect(result.exitCode).toBe(0);
      expect(result.stderr).toBe("");
      const captured = join(capture, `dash_${version!.replaceAll(":", "%3a")}_${arch}`);
      expect(statSync(join(captured, "root/usr/bin/dash")).ino).toBe(statSync("/usr/bin/dash").ino);
      expect(statSync(join(captured, "root/usr")).mode & 0o777).toBe(statSync("/usr").mode & 0o777);
      expect(readFileSync(join(captured, "files.list"), "utf8")).toBe(readFileSync("/var/lib/dpkg/info/dash.list", "utf8"));
      // merged /usr: the list says /bin/dash, the file lives in /usr/bin; the capture holds it where it lives
      expect(readdirSync(join(captured, "root"))).toEqual(["usr"]);
      expect(readFileSync(join(captured, "manifest"), "utf8")).toMatch(new RegExp(`^patchroll-capture 1\\npackage dash\\nversion ${version!.replace(/[.+]/g, "\\$&")}\\n`));
      expect(readdirSync(capture).filter((f) => f.startsWith("."))).toEqual([]);
    });

    it("skips a package with too many files, with a note, and still writes the record", async () => {
      const [version, arch, multi] = await dash();
      const result = await runHook(PRE, ["--spool", spool, "--capture", join(dir, "capture"), "--capture-max-files", "2"], payload([`dash ${version} ${arch} ${multi} < 99.0 ${arch} ${multi} /x/dash_99.0.deb`]));
      expect(result.exitCode).toBe(0);
      expect(patchrollLines(result.stderr)).toEqual([expect.stringMatching(/^patchroll: capture of dash .* skipped: \d+ paths > --capture-max-files 2/)]);
      expect(records()).toHaveLength(1);
    });

    it("notes a capture dir on another filesystem (no hard links possible) and still writes the record", async () => {
      const [version, arch, multi] = await dash();
      const elsewhere = mkdtempSync("/dev/shm/patchroll-test-capture-");
      try {
        const result = await runHook(PRE, ["--spool", spool, "--capture", elsewhere], payload([`dash ${version} ${arch} ${multi} < 99.0 ${arch} ${multi} /x/dash_99.0.deb`]));
        expect(result.exitCode).toBe(0);
        expect(patchrollLines(result.stderr)).toEqual([expect.stringMatching(/^patchroll: capture of dash .* failed/)]);
        expect(readdirSync(elsewhere)).toEqual([]);
        expect(records()).toHaveLength(1);
      } finally {
        rmSync(elsewhere, { recursive: true, force: true });
      }
    });
  });
});
