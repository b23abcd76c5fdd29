import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DoctorContext } from "../../src/doctor/check.js";
import { aptHooksCheck } from "../../src/doctor/apt-hooks.js";
import { clockCheck } from "../../src/doctor/clock.js";
import { runDoctor } from "../../src/doctor/run-doctor.js";
import { journalWritableCheck, spoolWritableCheck } from "../../src/doctor/writable-dirs.js";
import { captureDir } from "../../src/intake/capture.js";
import { RolloutJournal } from "../../src/journal/journal.js";
import { LxcDriver } from "../../src/containers/lxc-driver.js";
import { testEnv, type TestEnv } from "../helpers/redis.js";

const HOOKS = resolve(new URL("../../hooks", import.meta.url).pathname);
const SNIPPET = resolve(new URL("../../deploy/apt/50patchroll", import.meta.url).pathname);

/**
 * `patchroll doctor`'s host checks, each problem made real: apt configurations read by the real
 * apt-config, spool and journal dirs on a read-only mount, a journal written by a clock that was ahead.
 */
describe("doctor on this host", () => {
  let env: TestEnv;
  let ctx: DoctorContext;
  const mounts: string[] = [];

  beforeAll(() => {
    env = testEnv("doctor-host", { http: { enabled: false } });
    ctx = { config: env.config, tokenFile: join(env.config.stateDir, "http-token"), driver: new LxcDriver(env.config.lxc.path), now: () => new Date() };
  });
  afterAll(() => {
    for (const m of mounts.reverse()) execFileSync("umount", [m]);
    env?.cleanup();
  });

  const aptConf = (name: string, text: string) => {
    const f = join(env.root, name);
    writeFileSync(f, text);
    return f;
  };

  it("reads apt's hooks with apt-config: none installed, the shipped snippet, a snippet with the wrong spool dir", async () => {
    const none = aptConf("none.conf", "#clear DPkg::Pre-Install-Pkgs;\n#clear DPkg::Post-Invoke;\n");
    let [r] = await runDoctor({ ...ctx, aptConfigFile: none }, [aptHooksCheck]);
    expect(r!.findings.map((f) => f.problem)).toEqual([expect.stringMatching(/no patchroll DPkg::Pre-Install-Pkgs hook/), expect.stringMatching(/no patchroll DPkg::Post-Invoke hook/)]);

    // The snippet we ship, pointed at this checkout's hooks and this test's dirs, as install.sh would.
    const shipped = readFileSync(SNIPPET, "utf8").replaceAll("/usr/lib/patchroll/hooks", HOOKS).replaceAll("/var/spool/patchroll", env.config.spoolDir).replaceAll("/var/lib/patchroll/capture", captureDir(env.config.stateDir));
    [r] = await runDoctor({ ...ctx, aptConfigFile: aptConf("ok.conf", `#clear DPkg::Pre-Install-Pkgs;\n#clear DPkg::Post-Invoke;\n${shipped}`) }, [aptHooksCheck]);
    expect(r!.findings).toEqual([]);

    [r] = await runDoctor({ ...ctx, aptConfigFile: aptConf("other.conf", `#clear DPkg::Pre-Install-Pkgs;\n#clear DPkg::Post-Invoke;\n${shipped.replaceAll(env.config.spoolDir, "/var/spool/elsewhere")}`) }, [aptHooksCheck]);
    expect(r!.findings.map((f) => f.problem)).toEqual([
      expect.stringContaining(`writes to /var/spool/elsewhere but the daemon reads spoolDir ${env.config.spoolDir}`),
      expect.stringContaining(`writes to /var/spool/elsewhere but the daemon reads spoolDir ${env.config.spoolDir}`),
    ]);
  });

  it("finds spool and journal dirs that cannot be written (read-only mount)", async () => {
    expect((await runDoctor(ctx, [spoolWritableCheck, journalWritableCheck])).flatMap((r) => r.findings)).toEqual([]);
    for (const dir of [env.config.spoolDir, env.config.journalDir]) {
      mkdirSync(dir, { recursive: true });
      execFileSync("mount", ["--bind", dir, dir]);
      mounts.push(dir);
      execFileSync("mount", ["-o", "remount,ro,bind", dir]);
    }
    const results = await runDoctor(ctx, [spoolWritableCheck, journalWritableCheck]);
    expect(results.map((r) => r.findings.map((f) => f.problem))).toEqual([
      [`the spool dir ${env.config.spoolDir} is not writable: it is on a read-only filesystem`],
      [`the journal dir ${env.config.journalDir} is not writable: it is on a read-only filesystem`],
    ]);
    for (const m of mounts.splice(0).reverse()) execFileSync("umount", [m]);
  });

  it("finds a journal written by a clock that was an hour ahead (the clock went back)", async () => {
    expect((await runDoctor(ctx, [clockCheck]))[0]!.findings).toEqual([]);
    const ahead = new RolloutJournal(env.config.journalDir, env.config.hostId, "20261123T000000Z-clock", () => new Date(Date.now() + 3600_000));
    ahead.appendAsWritten({ type: "rollout.completed", data: {} });
    const [r] = await runDoctor(ctx, [clockCheck]);
    expect(r!.findings.map((f) => f.problem)).toEqual([expect.stringMatching(/20261123T000000Z-clock\.jsonl has an entry from .* s in the future: the clock went back/)]);
  });
});
