import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { discoverContainers } from "../containers/discover.js";
import type { DoctorCheck, DoctorContext, Finding } from "./check.js";

/** Host files no container may read: password hashes, SSH host keys, patchroll's credentials (the Redis TLS client key too) and state. */
export function secretPaths(ctx: Pick<DoctorContext, "config" | "configFile" | "tokenFile">): string[] {
  const ssh = existsSync("/etc/ssh") ? readdirSync("/etc/ssh").filter((f) => /^ssh_host_.*_key$/.test(f)).map((f) => `/etc/ssh/${f}`) : [];
  const tlsKey = ctx.config.redis.tls?.keyFile;
  const own = [ctx.tokenFile, join(ctx.config.stateDir, "redis"), ctx.config.stateDir, ...(ctx.configFile !== undefined ? [ctx.configFile] : []), ...(tlsKey !== undefined ? [tlsKey] : [])];
  return [...new Set(["/etc/shadow", "/etc/gshadow", ...ssh, ...own])].filter((p) => existsSync(p));
}

/**
 * Asks each running managed container, from the inside (`lxc-attach`), which of the host's secrets it can
 * read. One `find -readable` per container: access(2) as the container's root, exactly what a process
 * there could do.
 */
export const secretExposureCheck: DoctorCheck = {
  id: "secret-exposure",
  title: "no host secret readable inside a container",
  async run(ctx) {
    const { lxc } = ctx.config;
    const running = (await discoverContainers({ lxcPath: lxc.path, hostRoot: lxc.hostRoot, driver: ctx.driver })).filter((c) => c.managed && c.state === "RUNNING");
    if (running.length === 0) return { skipped: "no managed container is running (hidden-paths checks stopped ones from their delta)" };
    const secrets = secretPaths(ctx);
    const findings: Finding[] = [];
    for (const c of running) {
      let readable: string[];
      try {
        const r = await ctx.driver.attach(c.name, ["/usr/bin/find", ...secrets, "-maxdepth", "0", "-readable"], 15_000);
        readable = r.stdout.split("\n").filter((l) => secrets.includes(l));
      } catch (err) {
        findings.push({ severity: "warning", problem: `could not look inside ${c.name}: ${(err as Error).message}`, fix: `check by hand: lxc-attach -P ${lxc.path} -n ${c.name} -- ls -la /etc/shadow ${ctx.tokenFile}` });
        continue;
      }
      if (readable.length === 0) continue;
      findings.push({
        severity: "error",
        problem: `container ${c.name} can read the host's ${readable.join(", ")}`,
        fix: `hide them in its delta and restart it: patchroll containers create ${c.name} --service "..." ${readable.map((p) => `--hide ${p}`).join(" ")} (same flags as when it was created), then lxc-stop -P ${lxc.path} -n ${c.name} && lxc-start -P ${lxc.path} -n ${c.name}; rotate any credential that was exposed`,
        runbook: "secret-exposure",
      });
    }
    return findings;
  },
};
