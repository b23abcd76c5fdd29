import type { Command } from "commander";
import type { Config } from "../../config/schema.js";
import { PatchrollError } from "../../errors/patchroll-error.js";
import { requireFleet } from "../../fleet/fleet-mode.js";
import { type CliContext, configFor, wantsJson } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { json } from "../output.js";
import { operatorName } from "./rollouts-control.js";
import { withRedis } from "../with-redis.js";

/** The configuration, refused unless it takes part in a fleet (the commands read the shared Redis). */
function fleetConfig(cmd: Command, ctx: CliContext): Config {
  const { config } = configFor(cmd, ctx);
  requireFleet(config);
  return config;
}

/** `--why` must say something: it is journaled. */
function why(text: string): string {
  if (text.trim() === "") throw new PatchrollError("USAGE", "--why must say why (it is journaled with your login name)");
  return text;
}

/** `PKG=VERSION` from the command line, or a usage error naming it. */
async function versionArg(text: string) {
  const { parseVersionKey } = await import("../../fleet/version-state.js");
  const v = parseVersionKey(text);
  if (typeof v === "string") throw new PatchrollError("USAGE", v);
  return v;
}

/** `patchroll fleet hosts|forget|acl|status|verdicts|hold|release`: the hosts sharing this Redis and their verdicts. */
export function registerFleet(program: Command, ctx: CliContext): void {
  const fleet = program.command("fleet").description("the fleet: hosts sharing one Redis (fleet.enabled)");
  fleet
    .command("hosts")
    .description("every registered host: up, stopped or lost (with its last word), its containers, rollout, exposure, last apt event")
    .action(async (_opts: unknown, cmd: Command) => {
      const config = fleetConfig(cmd, ctx);
      const { FleetRegistry, redisNowMs } = await import("../../fleet/registry.js");
      const doc = await withRedis(config, async (redis) => {
        const hosts = await new FleetRegistry(redis, config).list(config.fleet.lostAfterMs);
        return { v: 1 as const, at: new Date(await redisNowMs(redis)).toISOString(), hosts };
      });
      if (doc.hosts.some((h) => h.status === "lost")) ctx.exitCode = EXIT.FINDINGS;
      if (wantsJson(cmd)) return ctx.output.out(json(doc));
      const { renderHosts } = await import("../../fleet/render-hosts.js");
      ctx.output.out(renderHosts(doc));
    });
  fleet
    .command("forget <host>")
    .description("remove a host from the registry (decommissioned); a daemon still running there registers again")
    .requiredOption("--why <text>", "why, in your words: journaled with your login name")
    .action(async (host: string, opts: { why: string }, cmd: Command) => {
      const config = fleetConfig(cmd, ctx);
      const reason = why(opts.why);
      const { forgetHost } = await import("../../fleet/fleet-controls.js");
      await withRedis(config, (redis) => forgetHost(redis, config, host, operatorName(ctx.env), reason));
      if (wantsJson(cmd)) return ctx.output.out(json({ host, forgotten: true }));
      ctx.output.out(`host ${host} forgotten (journaled with your name and reason)`);
    });
  fleet
    .command("acl <host>")
    .description("print the Redis ACL user of a host: its own keys and the fleet's, nothing else (password kept in --password-file)")
    .requiredOption("--password-file <file>", "the host's Redis password: read, or created (mode 0600, random) when missing; only its SHA-256 is printed")
    .action(async (host: string, opts: { passwordFile: string }, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const [{ ConfigSchema }, { aclLines }, { hostPassword }] = await Promise.all([import("../../config/schema.js"), import("../../fleet/acl.js"), import("../../fleet/password-file.js")]);
      if (!ConfigSchema.shape.hostId.safeParse(host).success) throw new PatchrollError("USAGE", `${JSON.stringify(host)} is not a host id: letters, digits, '.', '_' or '-'`);
      const lines = aclLines(config, host, hostPassword(opts.passwordFile));
      if (wantsJson(cmd)) return ctx.output.out(json({ host, ...lines, passwordFile: opts.passwordFile }));
      ctx.output.out([
        `# Redis ACL user of host ${host}: its own keys and the fleet's. On the shared Redis, as an administrator:`,
        lines.command,
        "# or, in the Redis aclfile:",
        lines.aclFile,
        `# On ${host}: redis.url redis://${lines.user}@REDIS-HOST:6379 and redis.password from ${opts.passwordFile}`,
        "# (in /etc/patchroll/config.yaml, which containers cannot read; patchroll doctor checks it).",
      ].join("\n"));
    });
  fleet
    .command("status")
    .description("one screen: hosts by state, versions in flight with their waves and verdicts, holds, fleet slots, the oldest exposure, and what needs a human")
    .action(async (_opts: unknown, cmd: Command) => {
      const config = fleetConfig(cmd, ctx);
      const [{ collectFleetStatus }, { renderFleetStatus }] = await Promise.all([import("../../fleet/fleet-status.js"), import("../../fleet/render-fleet-status.js")]);
      const status = await withRedis(config, (redis) => collectFleetStatus(redis, config));
      // As `status`: 8 when a version failed fleet-wide (the fleet's halt), 7 when anything else needs a human.
      if (status.versions.some((v) => v.status === "failed")) ctx.exitCode = EXIT.HALTED;
      else if (status.attention.length > 0) ctx.exitCode = EXIT.FINDINGS;
      if (wantsJson(cmd)) return ctx.output.out(json(status));
      ctx.output.out(renderFleetStatus(status));
    });
  fleet
    .command("verdicts")
    .description("every package version the fleet has seen: its waves, hosts, verdict (failed, inconclusive), holds and releases")
    .action(async (_opts: unknown, cmd: Command) => {
      const config = fleetConfig(cmd, ctx);
      const [{ VersionStore }, { versionReport, renderVerdicts }, { redisNowMs }] = await Promise.all([import("../../fleet/version-store.js"), import("../../fleet/verdicts.js"), import("../../fleet/registry.js")]);
      const doc = await withRedis(config, async (redis) => {
        const list = await new VersionStore(redis, config).list();
        return { v: 1 as const, at: new Date(await redisNowMs(redis)).toISOString(), versions: list.map((x) => versionReport(x.view, x.firstSeen)) };
      });
      if (doc.versions.some((x) => x.status === "failed" || x.status === "inconclusive" || x.status === "held")) ctx.exitCode = EXIT.FINDINGS;
      if (wantsJson(cmd)) return ctx.output.out(json(doc));
      ctx.output.out(renderVerdicts(doc));
    });
  for (const action of ["hold", "release"] as const) {
    fleet
      .command(`${action} <version>`)
      .description(action === "hold" ? "hold PKG=VERSION on every host: rollouts bringing it do not start, or stop at their next batch boundary" : "let PKG=VERSION go on: lifts a hold and the failed or inconclusive verdict standing now")
      .requiredOption("--why <text>", "why, in your words: journaled with your login name on this host and on every host it affects")
      .action(async (text: string, opts: { why: string }, cmd: Command) => {
        const config = fleetConfig(cmd, ctx);
        const v = await versionArg(text);
        const reason = why(opts.why);
        const [{ holdOrRelease }, { versionKey }] = await Promise.all([import("../../fleet/fleet-controls.js"), import("../../fleet/version-state.js")]);
        const who = operatorName(ctx.env);
        const status = await withRedis(config, (redis) => holdOrRelease(redis, config, action, v, who, reason));
        if (wantsJson(cmd)) return ctx.output.out(json({ version: versionKey(v), action, who, why: reason, status }));
        ctx.output.out(`${versionKey(v)}: ${action} recorded (by ${who}); now ${status}. Follow it with: patchroll fleet verdicts`);
      });
  }
}
