import { describe, expect, it } from "vitest";
import { judgeAptHooks } from "../../src/doctor/apt-hooks.js";
import { findHook, parseAptConfigDump } from "../../src/doctor/apt-hooks-parse.js";

const dump = (spool: string, opts: { version?: boolean; capture?: string } = {}) => `DPkg::Pre-Install-Pkgs "";
DPkg::Pre-Install-Pkgs:: "/usr/sbin/dpkg-preconfigure --apt || true";
DPkg::Pre-Install-Pkgs:: "/usr/lib/patchroll/hooks/apt-pre-install-pkgs --spool ${spool}${opts.capture !== undefined ? ` --capture ${opts.capture}` : ""}";
DPkg::Post-Invoke "";
DPkg::Post-Invoke:: "test -x /usr/lib/needrestart/apt-pinvoke && /usr/lib/needrestart/apt-pinvoke || true";
DPkg::Post-Invoke:: "/usr/lib/patchroll/hooks/apt-post-invoke --spool ${spool}";
${opts.version === false ? "" : 'DPkg::Tools::Options::/usr/lib/patchroll/hooks/apt-pre-install-pkgs::Version "3";'}
CommandLine::AsString "apt-config dump";
`;

const want = { spoolDir: "/var/spool/patchroll", stateDir: "/var/lib/patchroll" };
const exists = () => "compiled" as const;

describe("apt hook configuration", () => {
  it("reads the guarded Post-Invoke of deploy/apt/50patchroll", () => {
    const guarded = "test ! -x /usr/lib/patchroll/hooks/apt-post-invoke || /usr/lib/patchroll/hooks/apt-post-invoke --spool /var/spool/patchroll";
    expect(findHook([guarded], "apt-post-invoke")).toMatchObject({ program: "/usr/lib/patchroll/hooks/apt-post-invoke", spool: "/var/spool/patchroll" });
  });

  it("reads patchroll's hooks, their spool dir and protocol version from apt-config dump", () => {
    const apt = parseAptConfigDump(dump("/var/spool/patchroll"));
    expect(apt.preInstall).toHaveLength(2);
    expect(findHook(apt.postInvoke, "apt-post-invoke")).toEqual({ command: "/usr/lib/patchroll/hooks/apt-post-invoke --spool /var/spool/patchroll", program: "/usr/lib/patchroll/hooks/apt-post-invoke", spool: "/var/spool/patchroll" });
    expect(apt.versions.get("/usr/lib/patchroll/hooks/apt-pre-install-pkgs")).toBe("3");
  });

  it("finds nothing wrong with the shipped snippet", () => {
    expect(judgeAptHooks(parseAptConfigDump(dump("/var/spool/patchroll", { capture: "/var/lib/patchroll/capture" })), want, exists)).toEqual([]);
  });

  it("finds missing hooks, a spool dir the daemon does not read, a missing version, no capture, a missing program", () => {
    expect(judgeAptHooks(parseAptConfigDump(""), want, exists).map((f) => f.problem)).toEqual([
      expect.stringMatching(/no patchroll DPkg::Pre-Install-Pkgs hook/),
      expect.stringMatching(/no patchroll DPkg::Post-Invoke hook/),
    ]);
    const findings = judgeAptHooks(parseAptConfigDump(dump("/srv/other", { version: false })), want, (p) => (p.endsWith("apt-post-invoke") ? "missing" : "compiled"));
    expect(findings.map((f) => [f.severity, f.problem])).toEqual([
      ["error", expect.stringMatching(/writes to \/srv\/other but the daemon reads spoolDir \/var\/spool\/patchroll/)],
      ["error", expect.stringMatching(/apt-post-invoke, which is missing or not executable/)],
      ["error", expect.stringMatching(/writes to \/srv\/other/)],
      ["error", expect.stringMatching(/Version is unset/)],
      ["warning", expect.stringMatching(/captures no old package files/)],
    ]);
    for (const f of findings) expect(f.fix.length).toBeGreaterThan(10);
  });

  it("warns when apt runs the sh hooks rather than the compiled ones, and says how to build them", () => {
    const findings = judgeAptHooks(parseAptConfigDump(dump("/var/spool/patchroll", { capture: "/var/lib/patchroll/capture" })), want, () => "script");
    expect(findings.map((f) => [f.severity, f.problem])).toEqual([
      ["warning", expect.stringMatching(/runs the sh version of \/usr\/lib\/patchroll\/hooks\/apt-pre-install-pkgs/)],
      ["warning", expect.stringMatching(/runs the sh version of \/usr\/lib\/patchroll\/hooks\/apt-post-invoke/)],
    ]);
    expect(findings[0]!.fix).toBe("apt-get install gcc libc6-dev, then sh /usr/lib/patchroll/hooks/build.sh (or reinstall patchroll)");
  });
});
