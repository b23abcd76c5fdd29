import { execa } from "execa";
import type { Config } from "../../src/config/schema.js";

const BIN = new URL("../../bin/patchroll", import.meta.url).pathname;

/** Global flags that make the CLI use exactly this configuration (an empty config file, no PATCHROLL_* env). */
export function flagsFor(config: Config): string[] {
  const set = (k: string, v: unknown) => ["--set", `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`];
  return [
    "--config", "/dev/null",
    "--host-id", config.hostId,
    "--state-dir", config.stateDir,
    "--lxc-path", config.lxc.path,
    ...(config.redis.url !== undefined ? ["--redis-url", config.redis.url] : []),
    // A shared Redis as the test configured it: Sentinel or Cluster, TLS files, ACL user and password.
    ...(["sentinel", "cluster", "tls", "username", "password"] as const).flatMap((k) => (config.redis[k] !== undefined ? set(`redis.${k}`, config.redis[k]) : [])),
    ...set("spoolDir", config.spoolDir),
    ...set("journalDir", config.journalDir),
    ...set("lxc.hostRoot", config.lxc.hostRoot),
    ...set("http.enabled", config.http.enabled),
    ...set("http.port", config.http.port),
  ];
}

/** What a run of the binary gave. */
export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the built binary (npm test builds first) the way an operator does, as this configuration. */
export async function patchroll(config: Config, ...args: string[]): Promise<CliRun> {
  const r = await execa(BIN, [...flagsFor(config), ...args], { reject: false, env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", LOGNAME: "oncall-test" }, extendEnv: false, timeout: 60_000 });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}
