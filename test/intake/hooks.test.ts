import { spawn } from "node:child_process";
import { chmodSync, closeSync, constants, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MAX_SPOOL_RECORD_BYTES, parseSpoolRecord } from "../../src/intake/spool-record.js";
import { HOOK_VARIANTS, type HookVariant, hookVariant, isCompiled, patchrollLines, payload, runHook } from "./hook-variants.js";

/**
 * The hooks run directly, the way apt runs them (payload on stdin, `sh -c`), without dpkg: what they
 * write, and that they exit 0 with one "patchroll:" line whatever goes wrong. Every test runs against the
 * compiled hook and the sh fallback (hooks/build.sh --sh), which must behave the same. Real apt runs are
 * in hooks.apt.test.ts; spool dirs on full or read-only filesystems in hooks.root.test.ts.
 */
describe.each(HOOK_VARIANTS)("apt hooks (%s), run directly", (variant) => {
  let v: HookVariant & { cleanup: () => void };
  let PRE: string;
  let POST: string;
  let dir: string;
  let spool: string;

  beforeAll(async () => {
    v = await hookVariant(variant);
    PRE = v.pre;
    POST = v.post;
  });
  afterAll(() => v.cleanup());

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

  it("reads apt's data from the fd APT_HOOK_INFO_FD names (a pipe on fd 3)", async () => {
    // `cat |` makes fd 3 a real pipe (Node hands a child sockets), the kind apt itself creates.
    const result = await execa("/bin/sh", ["-c", 'cat | "$0" "$@" 3<&0 0</dev/null', PRE, "--spool", spool], {
      input: payload(["prdemo - - none < 1.0 all none /x/prdemo_1.0_all.deb"]), reject: false, timeout: 30_000, env: { APT_HOOK_INFO_FD: "3" },
    });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe("");
    expect(read(records()[0]!).packages).toEqual([{ name: "prdemo", arch: "all", from: null, to: "1.0", action: "install" }]);
  });

  it("exits 0 with one patchroll: line and no record when APT_HOOK_INFO_FD names a closed fd", async () => {
    const result = await runHook(PRE, ["--spool", spool], payload([]), { APT_HOOK_INFO_FD: "7" });
    expect(result.exitCode).toBe(0);
    expect(patchrollLines(result.stderr)).toEqual(["patchroll: apt-pre-install-pkgs: cannot read apt's hook data from fd 7, no record written; apt goes on, reconciliation will catch up"]);
    expect(records()).toEqual([]);
  });

  it("exits 0 with one patchroll: line and no record when apt sends nothing", async () => {
    const result = await runHook(PRE, ["--spool", spool], "");
    expect(result.exitCode).toBe(0);
    expect(patchrollLines(result.stderr)).toEqual([expect.stringMatching(/^patchroll: apt-pre-install-pkgs: apt did not send hook protocol version 3 /)]);
    expect(records()).toEqual([]);
  });

  it("takes a relative --spool from the working dir and ignores a --timeout that is not a number of seconds", async () => {
    for (const limit of ["0", "00", "soon", ""]) {
      const result = await execa(PRE, ["--spool", "spool", "--timeout", limit], { cwd: dir, input: payload([]), reject: false, timeout: 30_000 });
      expect(result.exitCode).toBe(0);
      expect(result.stderr).toBe("");
    }
    expect(records()).toHaveLength(4);
  });

  it("keeps the last CommandLine::AsString (any case), an action line with blanks as sent, and no short line", async () => {
    const text = ["VERSION 3", "CommandLine::AsString=apt-get%20one", "commandline::asstring=apt-get%20two", "APT::X=a=b", "", "short line", "p\t1.0  amd64 none < 2.0 amd64 none /x/p.deb", ""].join("\n");
    const result = await runHook(PRE, ["--spool", spool], text);
    expect(result.stderr).toBe("");
    const body = readFileSync(join(spool, records()[0]!), "utf8");
    expect(body).toContain("\ncommand-line apt-get%20two\naction p\t1.0  amd64 none < 2.0 amd64 none /x/p.deb\nend\n");
    expect(body).not.toContain("short line");
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

    it("captures when apt's data comes on another fd and the hook's stdin is closed", async () => {
      const [version, arch, multi] = await dash();
      const capture = join(dir, "capture");
      const result = await execa("/bin/sh", ["-c", 'cat | "$0" "$@" 3<&0 0<&-', PRE, "--spool", spool, "--capture", capture], {
        input: payload([`dash ${version} ${arch} ${multi} < 99.0 ${arch} ${multi} /x/dash_99.0.deb`]), reject: false, timeout: 30_000, env: { APT_HOOK_INFO_FD: "3" },
      });
      expect(result.exitCode).toBe(0);
      expect(result.stderr).toBe("");
      expect(readdirSync(capture)).toEqual([`dash_${version!.replaceAll(":", "%3a")}_${arch}`]);
      expect(records()).toHaveLength(1);
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

describe("the compiled hook", () => {
  let compiled: HookVariant & { cleanup: () => void };
  let sh: HookVariant & { cleanup: () => void };
  let dir: string;

  beforeAll(async () => {
    compiled = await hookVariant("compiled");
    sh = await hookVariant("sh");
  });
  afterAll(() => sh.cleanup());
  beforeEach(() => {
    dir = mkdtempSync("/var/tmp/patchroll-test-hooks-");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const onlyRecord = (spool: string) => {
    const names = readdirSync(spool);
    expect(names).toHaveLength(1);
    return { name: names[0]!, text: readFileSync(join(spool, names[0]!), "utf8") };
  };

  it("is what `npm run build` put under the hooks' names where a C compiler is", async () => {
    const cc = await execa("sh", ["-c", "command -v cc"], { reject: false });
    if (cc.exitCode !== 0) return; // the sh fallback is what such a machine runs: tested above
    expect(isCompiled(compiled.pre)).toBe(true);
    expect(statSync(compiled.post).ino).toBe(statSync(compiled.pre).ino);
    expect(isCompiled(sh.pre)).toBe(false);
  });

  it("writes the same bytes as the sh hook for the same apt data: long lines, many actions, no final newline", async () => {
    const actions = Array.from({ length: 3000 }, (_, i) => `lib${i} 1.${i} amd64 same < 1.${i + 1} amd64 same /var/cache/apt/archives/lib${i}_1.${i + 1}_amd64.deb`);
    const commandLine = `CommandLine::AsString=apt-get%20install${"%20lib".repeat(40_000)}`;
    const text = ["VERSION 3", "APT::Architecture=amd64", `Binary::apt::X=${"y".repeat(300_000)}`, commandLine, "", ...actions, "tail 1.0 all none < 2.0 all none **CONFIGURE**"].join("\n");
    for (const [kind, args] of [["pre", ["--capture", join(dir, "capture")]], ["post", []]] as const) {
      const texts: string[] = [];
      for (const v of [compiled, sh]) {
        const spool = join(dir, `${v.name}-${kind}`);
        const result = await runHook(kind === "pre" ? v.pre : v.post, ["--spool", spool, ...args], text);
        expect(result.stderr).toBe("");
        const rec = onlyRecord(spool);
        expect(rec.name).toMatch(new RegExp(`-${kind === "pre" ? "pre-install" : "post-invoke"}\\.rec$`));
        texts.push(rec.text);
      }
      expect(texts[0]).toBe(texts[1]);
      if (kind === "pre") expect(texts[0]!.split("\n").filter((l) => l.startsWith("action "))).toHaveLength(3001);
    }
  });

  it("reads apt's data from a socket on the fd APT_HOOK_INFO_FD names, which the sh hook cannot reopen", async () => {
    const spool = join(dir, "spool");
    const child = spawn(compiled.pre, ["--spool", spool], { stdio: ["ignore", "pipe", "pipe", "pipe"], env: { ...process.env, APT_HOOK_INFO_FD: "3" } });
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
    (child.stdio[3] as NodeJS.WritableStream).end(payload(["prdemo - - none < 1.0 all none /x/prdemo_1.0_all.deb"]));
    const code = await new Promise((resolve) => child.on("close", resolve));
    expect(code).toBe(0);
    expect(stderr).toBe("");
    expect(onlyRecord(spool).text).toContain("\naction prdemo - - none < 1.0 all none /x/prdemo_1.0_all.deb\nend\n");
  });

  it("writes no record for apt data larger than the daemon reads, and still reads it all", async () => {
    const spool = join(dir, "spool");
    const huge = `p 1.0 amd64 none < 2.0 amd64 none /x/${"p".repeat(17 * 1024 * 1024)}.deb`;
    const result = await runHook(compiled.pre, ["--spool", spool], payload([huge, "q 1.0 all none < 2.0 all none /x/q.deb"]));
    expect(result.exitCode).toBe(0);
    expect(patchrollLines(result.stderr)).toEqual(["patchroll: apt-pre-install-pkgs: apt's hook data would make a spool record larger than 16 MiB (the daemon's limit), no record written; apt goes on, reconciliation will catch up"]);
    expect(readdirSync(spool)).toEqual([]);
  });

  it("waits for apt's data on a non-blocking fd instead of giving up on the first EAGAIN", async () => {
    const spool = join(dir, "spool");
    const fifo = join(dir, "fifo");
    await execa("mkfifo", [fifo]);
    // The FIFO's read end, opened non-blocking, is the fd the hook is handed (its flags go along).
    const readEnd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writeEnd = openSync(fifo, constants.O_WRONLY);
    const child = spawn(compiled.pre, ["--spool", spool], { stdio: ["ignore", "pipe", "pipe", readEnd], env: { ...process.env, APT_HOOK_INFO_FD: "3" } });
    closeSync(readEnd);
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
    const code = new Promise((resolve) => child.on("close", resolve));
    await new Promise((resolve) => setTimeout(resolve, 200));
    writeSync(writeEnd, payload(["prdemo - - none < 1.0 all none /x/prdemo_1.0_all.deb"]));
    closeSync(writeEnd);
    expect(await code).toBe(0);
    expect(stderr).toBe("");
    expect(onlyRecord(spool).text).toContain("\naction prdemo - - none < 1.0 all none /x/prdemo_1.0_all.deb\nend\n");
  });

  it("writes no record the daemon would refuse when apt's data is just below its limit and the record's own lines take it over", async () => {
    const spool = join(dir, "spool");
    const head = "p 1.0 amd64 none < 2.0 amd64 none /x/";
    // "action " + the line + "\n" is 100 bytes short of the limit; the boot, apt and end lines are more.
    const line = `${head}${"p".repeat(MAX_SPOOL_RECORD_BYTES - 100 - "action \n".length - head.length - ".deb".length)}.deb`;
    const result = await runHook(compiled.pre, ["--spool", spool], ["VERSION 3", "", line, ""].join("\n"));
    expect(result.exitCode).toBe(0);
    expect(patchrollLines(result.stderr)).toEqual([expect.stringContaining("would make a spool record larger than 16 MiB")]);
    expect(readdirSync(spool)).toEqual([]);
  });

  it("stops a capture that outlives an explicit --timeout, with one line, keeping the record it wrote", async () => {
    // timeout(1) as the capture's runner, replaced by one that never returns.
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "timeout"), "#!/bin/sh\nexec sleep 30\n");
    chmodSync(join(bin, "timeout"), 0o755);
    const spool = join(dir, "spool");
    const dash = (await execa("dpkg-query", ["-W", "-f", "${Version} ${Architecture} ${Multi-Arch}", "dash"])).stdout.split(" ");
    const started = Date.now();
    const result = await runHook(compiled.pre, ["--spool", spool, "--capture", join(dir, "capture"), "--timeout", "1"], payload([`dash ${dash[0]} ${dash[1]} ${dash[2]} < 99.0 ${dash[1]} ${dash[2]} /x/dash_99.0.deb`]), {
      APT_HOOK_INFO_FD: "0", PATH: `${bin}:${process.env["PATH"] ?? "/usr/bin:/bin"}`,
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.exitCode).toBe(0);
    expect(patchrollLines(result.stderr)).toEqual(["patchroll: apt-pre-install-pkgs did not finish within 1s and was stopped; apt goes on, reconciliation will catch up"]);
    expect(onlyRecord(spool).text).toMatch(/\nend\n$/);
  });

  it("is laid out as the sh hooks, with one line saying so, where no C compiler is", async () => {
    const out = join(dir, "hooks");
    const result = await execa("sh", [join(compiled.dir, "build.sh"), out], { env: { CC: "patchroll-no-such-cc" } });
    expect(result.stderr).toBe("hooks/build.sh: no C compiler (patchroll-no-such-cc): the apt hooks are the sh versions, about twice as slow (apt-get install gcc libc6-dev, then build again)");
    for (const [name, from] of [["apt-pre-install-pkgs", "apt-pre-install-pkgs.sh"], ["apt-post-invoke", "apt-post-invoke.sh"], ["hook-lib.sh", "hook-lib.sh"]]) {
      expect(readFileSync(join(out, name!), "utf8")).toBe(readFileSync(join(compiled.dir, from!), "utf8"));
    }
    expect(readdirSync(out).filter((f) => f.startsWith("."))).toEqual([]);
  });

  it("says what went wrong in one line also when an argument holds newlines", async () => {
    const result = await runHook(compiled.pre, ["--spool", join(dir, "spool"), "--frobnicate\npatchroll: x\r"], payload([]));
    expect(result.exitCode).toBe(0);
    expect(result.stderr.split("\n")).toEqual([expect.stringMatching(/^patchroll: apt-pre-install-pkgs: unknown argument '--frobnicate patchroll: x ' .*reconciliation will catch up$/)]);
  });

  it("says what it is for when it runs under another name", async () => {
    const other = join(dir, "patchroll-hook");
    await execa("cp", [compiled.pre, other]);
    const result = await runHook(other, ["--spool", join(dir, "spool")], payload([]));
    expect(result.exitCode).toBe(0);
    expect(patchrollLines(result.stderr)).toEqual([expect.stringMatching(/^patchroll: patchroll-hook: run as .*, it must be named apt-pre-install-pkgs or apt-post-invoke .*reconciliation will catch up$/)]);
  });
});
