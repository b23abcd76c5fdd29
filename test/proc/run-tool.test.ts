import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { OUTPUT_CAP, PRSPAWN, runDirect, runTool, type ToolRun } from "../../src/proc/run-tool.js";

/**
 * Tools started through prspawn (native/prspawn.c, built by `npm run build`) and through Node's own
 * child_process must behave the same: exit status, output, time bounds, signals, environment.
 */
const dir = mkdtempSync("/var/tmp/patchroll-test-run-tool-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function parentName(pid: number): string {
  const ppid = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]!;
  return readFileSync(`/proc/${ppid}/comm`, "utf8").trim();
}

it("prspawn is built, and runTool starts tools through it", async () => {
  expect(existsSync(PRSPAWN)).toBe(true);
  const run = runTool("sleep", ["0.5"]);
  const pid = await run.pid;
  expect(pid).toBeGreaterThan(0);
  expect(parentName(pid!)).toBe("prspawn");
  expect((await run.result).exitCode).toBe(0);
});

describe.each([
  ["prspawn", runTool],
  ["child_process", runDirect],
] as const)("tools started by %s", (label, run: (file: string, args: readonly string[], opts?: Parameters<typeof runTool>[2]) => ToolRun) => {
  it("passes arguments verbatim (no shell) and returns exit code, stdout and stderr without the final newline", async () => {
    const r = await run("/bin/sh", ["-c", 'printf "%s|" "$@"; echo; echo "to err" >&2; exit 3', "sh", "a b", "$HOME", "*", "'q'"]).result;
    expect(r).toMatchObject({ exitCode: 3, stdout: "a b|$HOME|*|'q'|", stderr: "to err", timedOut: false, signal: undefined });
  });

  it("reports a program that does not exist without throwing", async () => {
    const r = await run("patchroll-no-such-tool", []).result;
    expect(r.exitCode).toBeUndefined();
    expect(r.startError?.code).toBe("ENOENT");
    expect(r.stderr).toMatch(/cannot run patchroll-no-such-tool/);
  });

  it("gives the tool exactly the environment it is handed and searches that PATH", async () => {
    const bin = join(dir, `bin-${label}`);
    await execa("mkdir", ["-p", bin]);
    writeFileSync(join(bin, "prtool"), "#!/bin/sh\nenv | sort\n");
    chmodSync(join(bin, "prtool"), 0o755);
    process.env["PATCHROLL_TEST_SECRET"] = "s3cret";
    try {
      const r = await run("prtool", [], { env: { PATH: `${bin}:/usr/bin:/bin`, ONLY: "this" } }).result;
      expect(r.exitCode).toBe(0);
      expect(r.stdout).not.toContain("s3cret");
      expect(r.stdout).toContain("ONLY=this");
    } finally {
      delete process.env["PATCHROLL_TEST_SECRET"];
    }
  });

  it("stops a tool at its time bound with SIGTERM, and with SIGKILL when it ignores that", async () => {
    const term = await run("sleep", ["30"], { timeoutMs: 100 }).result;
    expect(term).toMatchObject({ timedOut: true, signal: "SIGTERM", exitCode: undefined });
    const kill = await run("/bin/sh", ["-c", "trap '' TERM; sleep 30 & wait; sleep 30"], { timeoutMs: 100, killAfterMs: 200 }).result;
    expect(kill).toMatchObject({ timedOut: true, signal: "SIGKILL" });
  });

  it("signals a running tool on request", async () => {
    const r = run("sleep", ["30"]);
    expect(await r.pid).toBeGreaterThan(0);
    r.kill("SIGINT");
    expect(await r.result).toMatchObject({ signal: "SIGINT", timedOut: false });
  });

  it("keeps large output whole up to the cap, and only the cap beyond it", async () => {
    const mb3 = await run("head", ["-c", String(3 << 20), "/dev/zero"]).result;
    expect(mb3.stdout.length).toBe(3 << 20);
    const big = await run("head", ["-c", String(OUTPUT_CAP + (1 << 20)), "/dev/zero"]).result;
    expect(big.exitCode).toBe(0);
    expect(big.stdout.length).toBe(OUTPUT_CAP);
  });

  it("runs many tools at once and matches every result to its run", async () => {
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => run("/bin/echo", [`run-${i}`]).result));
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 100 }, (_, i) => `run-${i}`));
  });

  it("hands the tool stdin /dev/null and default signal dispositions (and, from prspawn, only fds 0-2)", async () => {
    const fds = await run("/bin/sh", ["-c", "readlink /proc/$$/fd/0; ls /proc/$$/fd"]).result;
    const [stdin, ...open] = fds.stdout.split("\n");
    expect(stdin).toBe("/dev/null");
    // Node passes on whatever its own parent left open without close-on-exec (the test runner's channel).
    if (label === "prspawn") expect(open).toEqual(["0", "1", "2"]);
    // With SIGPIPE ignored, yes(1) would complain "Broken pipe" instead of dying quietly.
    const pipe = await run("/bin/sh", ["-c", "yes | head -n 1"]).result;
    expect(pipe).toMatchObject({ exitCode: 0, stdout: "y", stderr: "" });
  });
});

describe("prspawn's failures", () => {
  it("when prspawn dies, runs under way end as not run and the next run starts a new prspawn", async () => {
    const r = runTool("sleep", ["30"]);
    const pid = await r.pid;
    expect(parentName(pid!)).toBe("prspawn");
    const prspawn = Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
    process.kill(prspawn, "SIGKILL");
    const ended = await r.result;
    expect(ended.startError?.code).toBe("EPIPE");
    expect(ended.stderr).toMatch(/prspawn ended/);
    process.kill(pid!, "SIGKILL");
    const next = await runTool("/bin/echo", ["again"]).result;
    expect(next).toMatchObject({ exitCode: 0, stdout: "again" });
  });

  it("with prspawn switched off (PATCHROLL_PRSPAWN=0), Node starts the tools", async () => {
    const compiled = fileURLToPath(new URL("../../dist/src/proc/run-tool.js", import.meta.url));
    const script = `import { runTool } from ${JSON.stringify(compiled)};\nconst r = await runTool("/bin/sh", ["-c", "cat /proc/$PPID/comm"]).result;\nconsole.log(r.stdout);\n`;
    const file = join(dir, "off.mjs");
    writeFileSync(file, script);
    const r = await execa(process.execPath, [file], { timeout: 10_000, reject: false, env: { PATCHROLL_PRSPAWN: "0" } });
    expect(r.stdout).toMatch(/^(node|MainThread)$/);
    const on = await execa(process.execPath, [file], { timeout: 10_000, reject: false });
    expect(on.stdout).toBe("prspawn");
  });

  it("does not keep a finished Node process alive", async () => {
    const compiled = fileURLToPath(new URL("../../dist/src/proc/run-tool.js", import.meta.url));
    const script = `import { runTool } from ${JSON.stringify(compiled)};\nconst r = await runTool("/bin/echo", ["done"]).result;\nconsole.log(r.stdout);\n`;
    const file = join(dir, "idle.mjs");
    writeFileSync(file, script);
    const r = await execa(process.execPath, [file], { timeout: 10_000, reject: false });
    expect(r.timedOut).toBe(false);
    expect(r.stdout).toBe("done");
  });
});
