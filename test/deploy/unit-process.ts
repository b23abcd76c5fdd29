import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { envVariables } from "../../src/config/env.js";

/** The keys of a systemd unit file, by section, every value of a repeated key in order. */
export type UnitFile = Map<string, Map<string, string[]>>;

/** Parses a unit file (and drop-ins after it: later files add to, or reset, earlier keys as systemd does). */
export function parseUnit(...texts: string[]): UnitFile {
  const unit: UnitFile = new Map();
  for (const text of texts) {
    let section = "";
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
      const header = /^\[(.+)\]$/.exec(line);
      if (header !== null) {
        section = header[1]!;
        if (!unit.has(section)) unit.set(section, new Map());
        continue;
      }
      const eq = line.indexOf("=");
      if (eq < 0) throw new Error(`unit line without '=': ${line}`);
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      const keys = unit.get(section)!;
      // An empty assignment resets a list setting (systemd.unit(5)).
      keys.set(key, value === "" ? [] : [...(keys.get(key) ?? []), value]);
    }
  }
  return unit;
}

/** The single value of `section.key`, or undefined. */
export function unitValue(unit: UnitFile, section: string, key: string): string | undefined {
  return unit.get(section)?.get(key)?.at(-1);
}

/** The environment a unit's service starts with: systemd's own variables for `User=` plus Environment= and EnvironmentFile=. */
export function unitEnvironment(unit: UnitFile, root = ""): Record<string, string> {
  const user = unitValue(unit, "Service", "User") ?? "root";
  if (user !== "root") throw new Error(`this test runs services as root only, the unit says User=${user}`);
  const env: Record<string, string> = {
    // systemd 252's default PATH for system services.
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: "/root",
    USER: "root",
    LOGNAME: "root",
    SHELL: "/bin/sh",
  };
  for (const file of unit.get("Service")?.get("EnvironmentFile") ?? []) {
    const optional = file.startsWith("-");
    const path = join(root, optional ? file.slice(1) : file);
    if (!existsSync(path)) {
      if (optional) continue;
      throw new Error(`EnvironmentFile ${path} is missing`);
    }
    for (const line of readFileSync(path, "utf8").split("\n")) {
      const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
      if (m !== null) env[m[1]!] = m[2]!;
    }
  }
  for (const assignment of unit.get("Service")?.get("Environment") ?? []) {
    for (const m of assignment.matchAll(/"([^"]*)"|(\S+)/g)) {
      const word = m[1] ?? m[2]!;
      const eq = word.indexOf("=");
      env[word.slice(0, eq)] = word.slice(eq + 1);
    }
  }
  return env;
}

/** Environment variables that map the installed default paths into a staging root, for one test's daemon. */
export function stagedPaths(destdir: string, hostId: string): Record<string, string> {
  const env: Record<string, string> = {
    PATCHROLL_CONFIG: join(destdir, "etc/patchroll/config.yaml"),
    PATCHROLL_HOST_ID: hostId,
    PATCHROLL_STATE_DIR: join(destdir, "var/lib/patchroll"),
    PATCHROLL_SPOOL_DIR: join(destdir, "var/spool/patchroll"),
    PATCHROLL_JOURNAL_DIR: join(destdir, "var/log/patchroll"),
    PATCHROLL_LXC_PATH: join(destdir, "lxc"),
    PATCHROLL_LXC_HOST_ROOT: join(destdir, "lxc/host/rootfs"),
  };
  // The dashboard, where this build has one: any free port, so that tests never collide.
  if (envVariables().has("PATCHROLL_HTTP_PORT")) env["PATCHROLL_HTTP_PORT"] = "0";
  return env;
}

type UnitOptions = { reject: false; all: true; stdin: "ignore"; env: Record<string, string>; extendEnv: false; cwd: string };

/** A service process started the way systemd would start the unit. */
export interface UnitProcess {
  child: ResultPromise<UnitOptions>;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves once its output contains `text`; rejects when it exits first or after `timeoutMs`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}

/**
 * Runs the unit's ExecStart as systemd would: its argv with the executable looked up under `root`, the
 * unit's environment (plus `extraEnv`), WorkingDirectory, UMask and LimitNOFILE (when set), as root.
 */
export function startUnit(unit: UnitFile, root: string, extraEnv: Record<string, string>): UnitProcess {
  const exec = unit.get("Service")?.get("ExecStart") ?? [];
  if (exec.length !== 1) throw new Error(`expected one ExecStart, found ${exec.length}`);
  const argv = exec[0]!.split(/\s+/);
  if (/^[-@+!:]/.test(argv[0]!)) throw new Error(`ExecStart prefixes are not handled here: ${exec[0]}`);
  const umask = unitValue(unit, "Service", "UMask") ?? "0022";
  const nofile = unitValue(unit, "Service", "LimitNOFILE");
  const cwd = unitValue(unit, "Service", "WorkingDirectory") ?? "/";
  const limits = nofile === undefined ? [] : [`--nofile=${nofile}:${nofile}`];
  const options: UnitOptions = { reject: false, all: true, stdin: "ignore", env: { ...unitEnvironment(unit, root), ...extraEnv }, extendEnv: false, cwd };
  const child = execa("prlimit", [...limits, "--", "/bin/sh", "-c", 'umask "$1"; shift; exec "$@"', "sh", umask, join(root, argv[0]!), ...argv.slice(1)], options);
  let text = "";
  child.all.on("data", (chunk: Buffer) => (text += chunk.toString()));
  return {
    child,
    output: () => text,
    waitFor: (wanted, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${wanted}" within ${timeoutMs} ms; output:\n${text}`)), timeoutMs);
        const check = () => {
          if (!text.includes(wanted)) return false;
          clearTimeout(timer);
          resolve();
          return true;
        };
        if (check()) return;
        child.all.on("data", check);
        void child.then((r) => {
          if (check()) return;
          clearTimeout(timer);
          reject(new Error(`the service exited (${String(r.exitCode ?? r.signal)}) before printing "${wanted}":\n${text}`));
        });
      }),
  };
}
