import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../../src/cli/exit-codes.js";
import { testEnv, type TestEnv } from "../helpers/redis.js";
import { patchroll } from "./run-cli.js";
import { DoctorJson } from "./schemas.js";

/** `patchroll doctor` on the built binary: every check reported, a finding with its fix, exit 7. */
describe("patchroll doctor (built binary)", () => {
  let env: TestEnv;
  let noHooks: string;
  beforeAll(() => {
    env = testEnv("cli-doctor", { http: { enabled: false } });
    noHooks = join(env.root, "no-hooks.conf");
    writeFileSync(noHooks, "#clear DPkg::Pre-Install-Pkgs;\n#clear DPkg::Post-Invoke;\n");
  });
  afterAll(() => env?.cleanup());

  it("runs every check and exits 7 with the missing apt hooks and how to install them", async () => {
    const r = await patchroll(env.config, "--json", "doctor", "--apt-config", noHooks);
    expect(r.exitCode).toBe(EXIT.FINDINGS);
    const { checks } = DoctorJson.parse(JSON.parse(r.stdout));
    expect(checks.map((c) => c.id)).toEqual(["apt-hooks", "host-root", "redis", "spool-writable", "journal-writable", "clock", "hidden-paths", "secret-exposure", "tool-starter"]);
    const apt = checks.find((c) => c.id === "apt-hooks")!;
    expect(apt.findings.map((f) => f.problem)).toEqual([expect.stringMatching(/no patchroll DPkg::Pre-Install-Pkgs hook/), expect.stringMatching(/no patchroll DPkg::Post-Invoke hook/)]);
    expect(apt.findings[0]!.fix).toMatch(/50patchroll/);
    expect(checks.find((c) => c.id === "spool-writable")!.findings).toEqual([]);
    // The CLI as built: its tools start through prspawn.
    expect(checks.find((c) => c.id === "tool-starter")!.findings).toEqual([]);
    expect(checks.find((c) => c.id === "hidden-paths")!.skipped).toMatch(/no managed container/);

    const text = await patchroll(env.config, "doctor", "--apt-config", noHooks);
    expect(text.stdout).toMatch(/^FAIL  apt hooks installed$/m);
    expect(text.stdout).toMatch(/^ {8}runbook: \/.*runbooks\/hook-warning\.md$/m);
    expect(text.stdout).toMatch(/^ok {4}spool writable$/m);
    expect(text.stdout).toMatch(/^skip  hidden-paths|^skip  containers' hidden paths in place/m);
  });
});
