import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureHostRoot, releaseHostRoot } from "../../src/containers/host-root.js";
import type { DoctorContext } from "../../src/doctor/check.js";
import { hiddenPathsCheck } from "../../src/doctor/hidden-paths.js";
import { hostRootCheck } from "../../src/doctor/host-root.js";
import { runDoctor } from "../../src/doctor/run-doctor.js";
import { secretExposureCheck } from "../../src/doctor/secret-exposure.js";
import { loadOrCreateToken, tokenFilePath } from "../../src/http/token-file.js";
import { lxcTestBed, type TestBed, type TestContainer } from "../helpers/lxc.js";
import { testEnv, type TestEnv } from "../helpers/redis.js";

/**
 * `patchroll doctor` on real containers, each problem made real: a host secret readable from inside a
 * running container (read with lxc-attach, as a process there would), hidden paths removed from a delta,
 * the host root bind mount gone. Each finding's fix is applied as printed and the problem goes away.
 */
describe("doctor on real containers", () => {
  let bed: TestBed;
  let env: TestEnv;
  let ctx: DoctorContext;
  let exposed: TestContainer;
  let sealed: TestContainer;
  let token: string;

  beforeAll(async () => {
    bed = await lxcTestBed("doctor");
    env = testEnv("doctor", { lxc: { path: bed.lxcPath, hostRoot: bed.hostRoot, stopTimeoutSec: 5 }, http: { enabled: false } });
    const tokenFile = tokenFilePath(env.config);
    token = loadOrCreateToken(tokenFile);
    // As a container made by hand, or before patchroll hid the password hashes: `patchroll containers
    // create` whites them out; here the whiteouts are taken away again before it starts.
    exposed = await bed.create({ start: false });
    for (const f of ["etc/shadow", "etc/shadow-", "etc/gshadow", "etc/gshadow-"]) rmSync(join(exposed.deltaDir, f), { force: true });
    await exposed.start();
    // The same, plus the password hashes and this test's patchroll dirs (state, spool, journal, token).
    sealed = await bed.create({ hide: ["/etc/shadow", "/etc/gshadow", env.root] });
    ctx = { config: env.config, tokenFile, driver: bed.driver, now: () => new Date() };
  });
  afterAll(async () => {
    await ensureHostRoot(bed.hostRoot).catch(() => {});
    await bed?.cleanup();
    env?.cleanup();
  });

  const inside = (c: TestContainer, file: string) => bed.driver.attach(c.name, ["/bin/cat", file], 10_000);

  it("finds host secrets a running container can read, and only there", async () => {
    // The problem is real: the dashboard token and the password hashes are readable inside `exposed`.
    expect((await inside(exposed, ctx.tokenFile)).stdout.trim()).toBe(token);
    expect((await inside(exposed, "/etc/shadow")).stdout).toMatch(/^root:/);
    expect((await inside(sealed, ctx.tokenFile)).exitCode).not.toBe(0);
    const [result] = await runDoctor(ctx, [secretExposureCheck]);
    expect(result!.findings).toHaveLength(1);
    const f = result!.findings[0]!;
    expect(f.problem).toContain(`container ${exposed.name} can read the host's`);
    for (const p of ["/etc/shadow", ctx.tokenFile, env.config.stateDir]) expect(f.problem).toContain(p);
    expect(f.fix).toContain(`--hide /etc/shadow`);
    expect(f.runbook).toBe("secret-exposure");
  });

  it("finds hidden paths removed from a delta, and the printed fix puts them back", async () => {
    let [result] = await runDoctor(ctx, [hiddenPathsCheck]);
    // `exposed` never hid this test's patchroll dirs; `sealed` hides everything it should.
    expect(result!.findings.map((f) => f.problem)).toEqual([expect.stringMatching(new RegExp(`^container ${exposed.name} sees the host's .*${env.config.stateDir}`))]);

    // Someone "cleaned up" sealed's delta: the opaque marker on /root and on the test's dirs are gone.
    for (const dir of ["root", env.root.slice(1)]) execFileSync("setfattr", ["-x", "trusted.overlay.opaque", join(sealed.deltaDir, dir)]);
    [result] = await runDoctor(ctx, [hiddenPathsCheck]);
    const finding = result!.findings.find((f) => f.problem.startsWith(`container ${sealed.name} `));
    expect(finding?.problem).toMatch(/sees the host's .*\/root/);
    expect(finding?.problem).toContain(env.config.stateDir);

    // The fix, run as printed (comments stripped): markers back, container restarted.
    for (const line of finding!.fix.split("\n")) execFileSync("sh", ["-c", line.replace(/#.*$/, "")], { stdio: "ignore", timeout: 30_000 });
    [result] = await runDoctor(ctx, [hiddenPathsCheck]);
    expect(result!.findings.filter((f) => f.problem.includes(sealed.name))).toEqual([]);
    expect((await inside(sealed, ctx.tokenFile)).exitCode).not.toBe(0);
    expect(readFileSync(join(sealed.deltaDir, "srv/www/health"), "utf8")).toBe("ok\n");
  });

  it("finds the host root bind mount missing while containers stand on it", async () => {
    expect(await runDoctor(ctx, [hostRootCheck])).toEqual([{ id: "host-root", title: expect.any(String), findings: [] }]);
    await releaseHostRoot(bed.hostRoot);
    const [result] = await runDoctor(ctx, [hostRootCheck]);
    expect(result!.findings).toHaveLength(1);
    expect(result!.findings[0]!.problem).toContain(`${bed.hostRoot} is not a bind mount of / but 2 container(s) stand on it`);
    const fix = result!.findings[0]!.fix.replace(/^.*by hand: /, "");
    execFileSync("sh", ["-c", fix], { timeout: 10_000 });
    expect((await runDoctor(ctx, [hostRootCheck]))[0]!.findings).toEqual([]);
  });
});
