import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCmdline, readOpenFiles } from "../../src/detect/process-view.js";
import { scanContainer } from "../../src/detect/scan.js";
import { startInContainer } from "../helpers/container-process.js";
import { runDpkg } from "../helpers/dpkg-lock.js";
import { scanJson } from "../helpers/scan-json.js";
import { buildFilesPackage } from "../helpers/files-package.js";
import { lxcTestBed, type TestBed, type TestContainer } from "../helpers/lxc.js";

// One package of this run ships a Python module, a Perl module and a shell script; the host upgrades it
// while processes in the containers run them (they map nothing of it).
const id = randomBytes(3).toString("hex");
const pkg = `prt-interp-${id}`;
const pyModule = `prt_interp_${id}`;
const plModule = `PrtInterp${id}`;
const pyFile = `/usr/lib/python3/dist-packages/${pyModule}/__init__.py`;
const plFile = `/usr/share/perl5/${plModule}.pm`;
const shScript = `/usr/bin/${pkg}-loop`;
const jsFile = `/usr/share/nodejs/${pkg}/index.js`;
const files = (v: string) => ({
  [pyFile]: `VERSION = "${v}"\n`,
  [jsFile]: `module.exports = { version: "${v}" };\n`,
  [plFile]: `package ${plModule};\nour $VERSION = "${v}";\n1;\n`,
  // dash reads a script as it runs it and keeps it open on an fd.
  [shScript]: `#!/bin/sh\n# ${v}\n: > /srv/ready-shell\nwhile :; do sleep 1; done\n`,
});
let bed: TestBed;
let work: string;
const c: Record<"python" | "perl" | "shell" | "node" | "pycopy" | "clean", TestContainer> = {} as never;

/** A script in the container's own delta (under /srv). */
const script = (box: TestContainer, name: string, text: string) => writeFileSync(join(box.deltaDir, "srv", name), text);
const pidOf = async (box: TestContainer, needle: string) => (await box.info()).pids.find((p) => readCmdline(p).join(" ").includes(needle)) as number;

beforeAll(async () => {
  work = mkdtempSync("/var/tmp/patchroll-test-debs-");
  bed = await lxcTestBed("interp");
  await runDpkg(["-i", await buildFilesPackage({ dir: work, name: pkg, version: "1.0", files: files("1.0") })]);
  for (const k of ["python", "perl", "shell", "node", "pycopy", "clean"] as const) c[k] = await bed.create();
  script(c.python, "app.py", `import time\nimport ${pyModule}\nopen("/srv/ready-app", "w").close()\ntime.sleep(100000)\n`);
  await startInContainer(bed.driver, c.python, "python3 /srv/app.py", "srv/ready-app");
  await startInContainer(bed.driver, c.python, `python3 -c 'import importlib, time; importlib.import_module("${pyModule}"); open("/srv/ready-dyn", "w").close(); time.sleep(100000)'`, "srv/ready-dyn");
  script(c.perl, "app.pl", `use strict;\nuse ${plModule};\nopen(my $f, ">", "/srv/ready-app"); close($f);\nsleep 100000;\n`);
  await startInContainer(bed.driver, c.perl, "perl /srv/app.pl", "srv/ready-app");
  await startInContainer(bed.driver, c.shell, shScript, "srv/ready-shell");
  script(c.node, "app.js", `const m = require("${pkg}");\nrequire("fs").writeFileSync("/srv/ready-app", m.version);\nsetInterval(() => {}, 100000);\n`);
  await startInContainer(bed.driver, c.node, "NODE_PATH=/usr/share/nodejs node /srv/app.js", "srv/ready-app");
  // Its developers' own copy of the module, in the delta: what it imports is never the host's.
  mkdirSync(join(c.pycopy.deltaDir, dirname(pyFile)), { recursive: true });
  copyFileSync(pyFile, join(c.pycopy.deltaDir, pyFile));
  script(c.pycopy, "app.py", `import time\nimport ${pyModule}\nopen("/srv/ready-app", "w").close()\ntime.sleep(100000)\n`);
  await startInContainer(bed.driver, c.pycopy, "python3 /srv/app.py", "srv/ready-app");
  // Nothing of the package: Python and Perl that never load it, a shell script of the delta.
  script(c.clean, "other.py", `import json, time\nopen("/srv/ready-py", "w").close()\ntime.sleep(100000)\n`);
  script(c.clean, "other.pl", `use strict;\nuse warnings;\nopen(my $f, ">", "/srv/ready-pl"); close($f);\nsleep 100000;\n`);
  // It also holds open its own changed copy of a conffile, a file it deleted, and one it deleted and made anew.
  script(c.clean, "loop.sh", [
    "exec 3>>/etc/debian_version; echo local >&3",
    ": > /srv/scratch; exec 4</srv/scratch; rm /srv/scratch",
    "exec 5>>/etc/issue.net; rm /etc/issue.net; : > /etc/issue.net",
    ": > /srv/ready-sh",
    "while :; do sleep 1; done",
  ].join("\n"));
  await startInContainer(bed.driver, c.clean, "python3 /srv/other.py", "srv/ready-py");
  await startInContainer(bed.driver, c.clean, "perl /srv/other.pl", "srv/ready-pl");
  await startInContainer(bed.driver, c.clean, "sh /srv/loop.sh", "srv/ready-sh");
  // File times are exact; process start times are 10 ms ticks: keep the upgrade clearly after the starts.
  await new Promise((r) => setTimeout(r, 50));
  await runDpkg(["-i", await buildFilesPackage({ dir: work, name: pkg, version: "1.1", files: files("1.1") })]);
});
afterAll(async () => {
  try {
    await runDpkg(["--purge", pkg]);
  } finally {
    rmSync(work, { recursive: true, force: true });
    await bed.cleanup();
  }
});

describe("interpreted code a process loaded before its package changed", () => {
  it("Python: the process importing the package's module is stale, with the module as evidence; -c code with a computed import may have loaded it", async () => {
    const scan = await scanContainer(await c.python.info());
    expect(scan.verdict).toBe("stale");
    const app = await pidOf(c.python, "/srv/app.py");
    const dyn = await pidOf(c.python, "importlib");
    expect(scan.interpreted.find((f) => f.pid === app)).toMatchObject({ language: "python", script: "/srv/app.py", path: pyFile, package: pkg, hostVersion: "1.1", certainty: "loaded", evidence: expect.stringContaining(`imports ${pyFile}`) });
    expect(scan.interpreted.find((f) => f.pid === dyn)).toMatchObject({ language: "python", path: pyFile, package: pkg, certainty: "may have loaded", evidence: expect.stringContaining("may have loaded") });
    // The same with the package named, as a rollout asks.
    expect((await scanContainer(await c.python.info(), { packages: [pkg] })).interpreted.map((f) => f.pid).sort()).toEqual([app, dyn].sort());
  });

  it("Python started after the upgrade in a container not restarted since: its overlay still serves the old module, so it is stale too", async () => {
    script(c.python, "late.py", `import time\nimport ${pyModule}\nopen("/srv/ready-late", "w").close()\ntime.sleep(100000)\n`);
    await startInContainer(bed.driver, c.python, "python3 /srv/late.py", "srv/ready-late");
    const late = await pidOf(c.python, "/srv/late.py");
    const scan = await scanContainer(await c.python.info(), { packages: [pkg] });
    expect(scan.interpreted.find((f) => f.pid === late)).toMatchObject({ path: pyFile, certainty: "loaded", evidence: expect.stringContaining("the container's overlay still serves the old file") });
  });

  it("Node.js: the process requiring the package's module (through NODE_PATH) is stale", async () => {
    const scan = await scanContainer(await c.node.info(), { packages: [pkg] });
    expect(scan.verdict).toBe("stale");
    expect(scan.interpreted).toEqual([expect.objectContaining({ pid: await pidOf(c.node, "/srv/app.js"), language: "node", script: "/srv/app.js", path: jsFile, package: pkg, certainty: "loaded" })]);
  });

  it("a Python module its delta holds a copy of: shadowed (a restart cannot fix it), with the interpreter as the user", async () => {
    const scan = await scanContainer(await c.pycopy.info());
    expect(scan).toMatchObject({ verdict: "shadowed", stale: [], interpreted: [] });
    expect(scan.shadowed).toEqual([expect.objectContaining({ path: pyFile, kind: "copy", package: pkg, hostVersion: "1.1", usedBy: [{ pid: await pidOf(c.pycopy, "/srv/app.py"), comm: "python3", via: "interpreter" }] })]);
  });

  it("never runs code a container points its interpreter at: the host's Python is asked without the process's PYTHONPATH", async () => {
    // The directory is a host path the container sees too; the container's Python runs its sitecustomize
    // (writing into the container's delta), the host's must not.
    const dir = join(work, "sitecustomize");
    mkdirSync(dir);
    writeFileSync(join(dir, "sitecustomize.py"), `open(${JSON.stringify(join(dir, "ran"))}, "w").close()\n`);
    script(c.python, "env.py", `import time\nopen("/srv/ready-env", "w").close()\ntime.sleep(100000)\n`);
    await startInContainer(bed.driver, c.python, `PYTHONPATH=${dir} python3 /srv/env.py`, "srv/ready-env");
    expect(existsSync(join(c.python.deltaDir, dir, "ran"))).toBe(true);
    await scanContainer(await c.python.info());
    expect(existsSync(join(dir, "ran"))).toBe(false);
  });

  it("Perl: the process using the package's module is stale", async () => {
    const scan = await scanContainer(await c.perl.info(), { packages: [pkg] });
    expect(scan.verdict).toBe("stale");
    expect(scan.interpreted).toEqual([expect.objectContaining({ pid: await pidOf(c.perl, "/srv/app.pl"), language: "perl", script: "/srv/app.pl", path: plFile, package: pkg, certainty: "loaded" })]);
  });

  it("shell: the script being executed from the package is stale, held open on an fd and run as the script", async () => {
    const scan = await scanContainer(await c.shell.info());
    const pid = await pidOf(c.shell, shScript);
    expect(scan.verdict).toBe("stale");
    expect(scan.stale).toEqual([expect.objectContaining({ pid, path: shScript, via: "fd", fd: expect.any(Number), hostInode: expect.any(Number) })]);
    expect(scan.interpreted).toEqual([expect.objectContaining({ pid, language: "shell", script: shScript, path: shScript, package: pkg, certainty: "loaded", evidence: expect.stringContaining("runs the script") })]);
  });

  it("no false positive: Python and Perl that never load the package and a shell script of the delta (holding its own files open) are patched", async () => {
    const fds = readOpenFiles(await pidOf(c.clean, "/srv/loop.sh")).map((f) => f.path);
    expect(fds).toEqual(expect.arrayContaining(["/etc/debian_version", "/srv/scratch", "/etc/issue.net"]));
    for (const opts of [{}, { packages: [pkg] }]) expect(await scanContainer(await c.clean.info(), opts)).toMatchObject({ verdict: "patched", stale: [], interpreted: [], shadowed: [] });
  });

  it("patchroll scan --json carries the interpreter evidence", async () => {
    const { code, byName } = await scanJson(bed, "--packages", pkg);
    expect(code).toBe(7);
    const evidence = { pid: expect.any(Number), comm: expect.any(String), startedAt: expect.any(String), changedAt: expect.any(String), package: pkg, hostVersion: "1.1", evidence: expect.any(String) };
    expect(new Set((byName[c.python.name] as { interpreted: { certainty: string }[] }).interpreted.map((f) => f.certainty))).toEqual(new Set(["loaded", "may have loaded"]));
    expect(byName[c.python.name]).toMatchObject({ verdict: "stale", interpreted: expect.arrayContaining([{ ...evidence, language: "python", script: "/srv/app.py", path: pyFile, certainty: "loaded" }]) });
    expect(byName[c.perl.name]).toMatchObject({ verdict: "stale", interpreted: [{ ...evidence, language: "perl", path: plFile, certainty: "loaded" }] });
    expect(byName[c.shell.name]).toMatchObject({ verdict: "stale", stale: [expect.objectContaining({ via: "fd" })], interpreted: [{ ...evidence, language: "shell" }] });
    expect(byName[c.clean.name]).toMatchObject({ verdict: "patched", interpreted: [] });
  });
});
