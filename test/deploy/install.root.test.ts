import { createHash } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ConfigSchema } from "../../src/config/schema.js";
import { RolloutJournal } from "../../src/journal/journal.js";
import { testRedisUrl, uniqueHostId } from "../helpers/redis.js";
import { frozenCheckout } from "./frozen-checkout.js";
import { parseUnit, stagedPaths, startUnit, type UnitProcess, unitValue } from "./unit-process.js";

const PREFIX = "/usr/lib/patchroll";
const UNIT = "etc/systemd/system/patchroll.service";

const run = (file: string, args: string[], env: Record<string, string> = {}) =>
  execa(file, args, { reject: false, all: true, timeout: 180_000, forceKillAfterDelay: 5_000, env });
const mode = (path: string) => (statSync(path).mode & 0o7777).toString(8).padStart(4, "0");
const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/**
 * deploy/install.sh and deploy/uninstall.sh for real, into a staging root (--destdir) so the machine's own
 * /usr/lib, /etc/apt and /etc/systemd stay as they were; the daemon is started from the installed unit's
 * own command line, environment and limits (systemd is not PID 1 on the test machines).
 */
describe("deploy/install.sh into a staging root", () => {
  let destdir: string;
  let checkout: string;
  let INSTALL: string;
  let UNINSTALL: string;
  const daemons: UnitProcess[] = [];
  const cli = (env: Record<string, string>, ...args: string[]) => run(join(destdir, "usr/bin/patchroll"), args, { ...env, PATH: process.env["PATH"] ?? "/usr/bin:/bin" });

  beforeAll(async () => {
    destdir = mkdtempSync("/var/tmp/patchroll-test-install-");
    checkout = frozenCheckout(destdir);
    INSTALL = join(checkout, "deploy/install.sh");
    UNINSTALL = join(checkout, "deploy/uninstall.sh");
    const r = await run(INSTALL, ["--destdir", destdir]);
    expect(r.exitCode, r.all).toBe(0);
  });

  afterAll(async () => {
    for (const d of daemons) {
      d.child.kill("SIGKILL");
      await d.child;
    }
    rmSync(destdir, { recursive: true, force: true });
  });

  it("puts the program, its pinned Node.js and production libraries only under one prefix", async () => {
    const p = join(destdir, PREFIX);
    for (const f of ["dist/src/cli/run.js", "dist/workers/finish-run.js", "dist/native/prspawn", "dist/native/prcopy", "bin/patchroll", "hooks/apt-pre-install-pkgs", "hooks/apt-post-invoke", "hooks/hook-lib.sh", "hooks/apt-pre-install-pkgs.sh", "package.json", "docs/configuration.md", "node_modules/node/bin/node", "node_modules/bullmq/package.json", "node_modules/zod/package.json"]) {
      expect(existsSync(join(p, f)), f).toBe(true);
    }
    for (const dev of ["vitest", "typescript", "fast-check", "testcontainers", "playwright-core", "@types/node"]) {
      expect(existsSync(join(p, "node_modules", dev)), `dev dependency ${dev} installed`).toBe(false);
    }
    expect(lstatSync(join(destdir, "usr/bin/patchroll")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(destdir, "usr/bin/patchroll"))).toBe("../lib/patchroll/bin/patchroll");
    expect(realpathSync(join(destdir, "usr/bin/patchroll"))).toBe(join(p, "bin/patchroll"));
    // It runs on its own runtime: not the machine's node (v20 here), whatever PATH says.
    const version = await cli({}, "--version");
    expect(version.exitCode, version.all).toBe(0);
    const node = await run(join(p, "node_modules/node/bin/node"), ["--version"]);
    expect(node.stdout).toMatch(/^v24\./);
  });

  it("builds the apt hooks into the prefix: one compiled binary under both names where a C compiler is", async () => {
    const hooks = join(destdir, PREFIX, "hooks");
    const compiled = (f: string) => readFileSync(join(hooks, f)).subarray(0, 4).equals(Buffer.from("\x7fELF", "latin1"));
    if ((await run("sh", ["-c", "command -v cc"])).exitCode === 0) {
      expect(compiled("apt-pre-install-pkgs")).toBe(true);
      expect(sha(join(hooks, "apt-post-invoke"))).toBe(sha(join(hooks, "apt-pre-install-pkgs")));
    } else {
      expect(readFileSync(join(hooks, "apt-pre-install-pkgs"), "utf8")).toBe(readFileSync(join(checkout, "hooks/apt-pre-install-pkgs.sh"), "utf8"));
    }
    for (const f of ["apt-pre-install-pkgs", "apt-post-invoke"]) expect(mode(join(hooks, f))).toBe("0755");
    expect(readdirSync(hooks).filter((f) => f.startsWith("."))).toEqual([]);
  });

  it("creates state, capture, spool, journal and config with tight modes; capture shares /usr's filesystem", () => {
    expect(mode(join(destdir, "var/lib/patchroll"))).toBe("0700");
    expect(mode(join(destdir, "var/lib/patchroll/capture"))).toBe("0750");
    expect(mode(join(destdir, "var/spool/patchroll"))).toBe("0750");
    expect(mode(join(destdir, "var/log/patchroll"))).toBe("0750");
    expect(mode(join(destdir, "etc/patchroll"))).toBe("0750");
    expect(mode(join(destdir, "etc/patchroll/config.yaml"))).toBe("0640");
    expect(statSync(join(destdir, "var/lib/patchroll/capture")).dev).toBe(statSync(join(destdir, "usr")).dev);
    expect(readFileSync(join(destdir, "etc/apt/apt.conf.d/50patchroll"), "utf8")).toBe(readFileSync(join(checkout, "deploy/apt/50patchroll"), "utf8"));
    expect(readFileSync(join(destdir, "etc/logrotate.d/patchroll"), "utf8")).toBe(readFileSync(join(checkout, "deploy/logrotate/patchroll"), "utf8"));
    expect(readFileSync(join(destdir, UNIT), "utf8")).toBe(readFileSync(join(checkout, "deploy/systemd/patchroll.service"), "utf8"));
  });

  it("writes a config with every key commented out; uncommented, it is exactly the defaults", () => {
    const text = readFileSync(join(destdir, "etc/patchroll/config.yaml"), "utf8");
    const lines = text.trimEnd().split("\n");
    expect(lines.filter((l) => l !== "" && !l.startsWith("#"))).toEqual([]);
    expect(parseYaml(text) ?? null).toBeNull();
    const uncommented = parseYaml(lines.map((l) => l.replace(/^# ?/, "")).join("\n")) as Record<string, unknown>;
    const defaults = ConfigSchema.parse({ hostId: "web1" });
    expect(ConfigSchema.parse(uncommented)).toEqual(defaults);
    // Every top-level key of the schema appears, so the file documents all of them.
    for (const key of Object.keys(ConfigSchema.shape)) expect(text, key).toMatch(new RegExp(`^# (# )?${key}:`, "m"));
  });

  it("is idempotent: a second run changes nothing, keeps an edited config, and puts modes back", async () => {
    const files = [UNIT, "etc/apt/apt.conf.d/50patchroll", "etc/logrotate.d/patchroll", `${PREFIX.slice(1)}/dist/src/cli/run.js`];
    const before = files.map((f) => [sha(join(destdir, f)), statSync(join(destdir, f)).mtimeMs]);
    const again = await run(INSTALL, ["--destdir", destdir]);
    expect(again.exitCode, again.all).toBe(0);
    expect(again.stdout).toContain("unchanged");
    expect(files.map((f) => [sha(join(destdir, f)), statSync(join(destdir, f)).mtimeMs])).toEqual(before);

    const conf = join(destdir, "etc/patchroll/config.yaml");
    const template = readFileSync(conf, "utf8");
    expect(readFileSync(join(destdir, PREFIX, "deploy/config.yaml.template"), "utf8")).toBe(template);
    writeFileSync(conf, "rollout:\n  bakeMs: 5000\n");
    chmodSync(join(destdir, "var/lib/patchroll"), 0o755);
    const third = await run(INSTALL, ["--destdir", destdir]);
    expect(third.exitCode, third.all).toBe(0);
    expect(readFileSync(conf, "utf8")).toBe("rollout:\n  bakeMs: 5000\n");
    expect(mode(join(destdir, "var/lib/patchroll"))).toBe("0700");
    writeFileSync(conf, template);
  });

  it.skipIf(!existsSync("/usr/bin/systemd-analyze"))("has units that systemd-analyze verify accepts without a warning", async () => {
    const dir = mkdtempSync(join(destdir, "verify-"));
    const units = ["patchroll.service", "patchroll-journal-prune.service", "patchroll-journal-prune.timer"];
    for (const unit of units) {
      // verify checks that ExecStart exists; point it at the staged binary, keep everything else.
      const text = readFileSync(join(destdir, "etc/systemd/system", unit), "utf8").replace(/^ExecStart=\//m, `ExecStart=${destdir}/`);
      writeFileSync(join(dir, unit), text);
    }
    const r = await run("systemd-analyze", ["verify", "--man=no", ...units.map((u) => join(dir, u))]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toBe("");
  });

  it("runs journal retention from the prune unit's ExecStart: an old finished journal is compressed, a recent one kept", async () => {
    const hostId = uniqueHostId("prune");
    const env = stagedPaths(destdir, hostId);
    const logDir = join(destdir, "var/log/patchroll");
    const old = new RolloutJournal(logDir, hostId, "20261001T000000Z-0ld00001", () => new Date(Date.now() - 30 * 86_400_000));
    const recent = new RolloutJournal(logDir, hostId, "20261122T000000Z-4ece4001");
    for (const j of [old, recent]) {
      j.appendAsWritten({ type: "rollout.planned", data: {} });
      j.appendAsWritten({ type: "rollout.completed", data: { containers: 0, failures: 0 } });
    }
    const prune = startUnit(parseUnit(readFileSync(join(destdir, "etc/systemd/system/patchroll-journal-prune.service"), "utf8")), destdir, env);
    expect((await prune.child).exitCode, prune.output()).toBe(0);
    expect(readdirSync(join(logDir, hostId)).sort()).toEqual(["20261001T000000Z-0ld00001.jsonl.gz", "20261122T000000Z-4ece4001.jsonl"]);
    expect(existsSync(join(destdir, "etc/cron.daily/patchroll"))).toBe(true);
    expect(mode(join(destdir, "etc/cron.daily/patchroll"))).toBe("0755");
    rmSync(join(logDir, hostId), { recursive: true });
  });

  it("starts from the unit's ExecStart under its environment: the embedded Redis answers the CLI, SIGTERM stops it cleanly", async () => {
    const unit = parseUnit(readFileSync(join(destdir, UNIT), "utf8"));
    expect(unitValue(unit, "Service", "User")).toBe("root");
    expect(unitValue(unit, "Service", "KillSignal")).toBe("SIGTERM");
    const env = stagedPaths(destdir, uniqueHostId("install"));
    mkdirSync(env["PATCHROLL_LXC_PATH"]!, { recursive: true });
    const daemon = startUnit(unit, destdir, env);
    daemons.push(daemon);
    await daemon.waitFor("patchroll daemon started");
    const socket = join(destdir, "var/lib/patchroll/redis/redis.sock");
    expect(statSync(socket).isSocket()).toBe(true);
    const redisPid = Number(readFileSync(join(destdir, "var/lib/patchroll/redis/redis.pid"), "utf8"));

    const list = await cli(env, "rollouts", "list", "--json");
    expect(list.exitCode, list.all).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual({ rollouts: [] });

    daemon.child.kill("SIGTERM");
    const result = await daemon.child;
    expect(result.exitCode, daemon.output()).toBe(0);
    expect(daemon.output()).toContain("patchroll daemon stopped");
    expect(existsSync(socket)).toBe(false);
    expect(() => process.kill(redisPid, 0)).toThrow();
  });

  it("with --redis-url, the unit's drop-in points the daemon at a shared Redis and no redis-server is started", async () => {
    const url = testRedisUrl();
    const r = await run(INSTALL, ["--destdir", destdir, "--redis-url", url]);
    expect(r.exitCode, r.all).toBe(0);
    const dropin = join(destdir, "etc/systemd/system/patchroll.service.d/shared-redis.conf");
    const unit = parseUnit(readFileSync(join(destdir, UNIT), "utf8"), readFileSync(dropin, "utf8"));
    expect(unit.get("Service")?.get("Environment")).toContain(`PATCHROLL_REDIS_URL=${url}`);
    rmSync(join(destdir, "var/lib/patchroll/redis"), { recursive: true, force: true });
    const env = stagedPaths(destdir, uniqueHostId("install-shared"));
    const daemon = startUnit(unit, destdir, env);
    daemons.push(daemon);
    await daemon.waitFor("patchroll daemon started");
    expect(existsSync(join(destdir, "var/lib/patchroll/redis/redis.sock"))).toBe(false);
    const list = await cli({ ...env, PATCHROLL_REDIS_URL: url }, "rollouts", "list", "--json");
    expect(list.exitCode, list.all).toBe(0);
    daemon.child.kill("SIGTERM");
    expect((await daemon.child).exitCode, daemon.output()).toBe(0);
    rmSync(dropin);
  });

  it("rotates plain logs next to the journals but never a rollout journal", async () => {
    const logDir = join(destdir, "var/log/patchroll");
    const journal = join(logDir, "web1", "20261123T000000Z-abcdef01.jsonl");
    mkdirSync(dirname(journal), { recursive: true });
    writeFileSync(journal, '{"v":1,"seq":1}\n');
    writeFileSync(join(logDir, "daemon.log"), "line 1\nline 2\n");
    const conf = join(destdir, "logrotate.conf");
    writeFileSync(conf, readFileSync(join(destdir, "etc/logrotate.d/patchroll"), "utf8").replaceAll("/var/log/patchroll", logDir));
    const r = await run("logrotate", ["--force", "--state", join(destdir, "logrotate.state"), conf]);
    expect(r.exitCode, r.all).toBe(0);
    expect(readFileSync(join(logDir, "daemon.log"), "utf8")).toBe("");
    expect(readFileSync(join(logDir, "daemon.log.1"), "utf8")).toBe("line 1\nline 2\n");
    expect(readdirSync(dirname(journal))).toEqual(["20261123T000000Z-abcdef01.jsonl"]);
    expect(readFileSync(journal, "utf8")).toBe('{"v":1,"seq":1}\n');
  });

  it("uninstall removes the apt snippet first, stops the daemon, keeps state and journals; --purge removes them", async () => {
    const unit = parseUnit(readFileSync(join(destdir, UNIT), "utf8"));
    const env = stagedPaths(destdir, uniqueHostId("uninstall"));
    const daemon = startUnit(unit, destdir, env);
    daemons.push(daemon);
    await daemon.waitFor("patchroll daemon started");
    writeFileSync(join(destdir, "var/spool/patchroll/keep-me"), "");

    const r = await run(UNINSTALL, ["--destdir", destdir]);
    expect(r.exitCode, r.all).toBe(0);
    const out = r.stdout.split("\n");
    const snippetLine = out.findIndex((l) => l.includes("50patchroll"));
    const stopLine = out.findIndex((l) => l.includes("stopping the daemon"));
    expect(snippetLine).toBeGreaterThanOrEqual(0);
    expect(stopLine).toBeGreaterThan(snippetLine);
    // The daemon found by its command line got SIGTERM and drained: a clean exit, not a kill.
    expect((await daemon.child).exitCode, daemon.output()).toBe(0);
    expect(daemon.output()).toContain("patchroll daemon stopped");
    for (const gone of ["etc/apt/apt.conf.d/50patchroll", PREFIX.slice(1), "usr/bin/patchroll", UNIT, "etc/systemd/system/patchroll-journal-prune.timer", "etc/logrotate.d/patchroll", "etc/cron.daily/patchroll"]) {
      expect(existsSync(join(destdir, gone)), gone).toBe(false);
    }
    for (const kept of ["etc/patchroll/config.yaml", "var/lib/patchroll", "var/spool/patchroll/keep-me", "var/log/patchroll/web1"]) {
      expect(existsSync(join(destdir, kept)), kept).toBe(true);
    }

    const purge = await run(UNINSTALL, ["--destdir", destdir, "--purge"]);
    expect(purge.exitCode, purge.all).toBe(0);
    for (const gone of ["etc/patchroll", "var/lib/patchroll", "var/spool/patchroll", "var/log/patchroll"]) {
      expect(existsSync(join(destdir, gone)), gone).toBe(false);
    }
  });
});
