import type { Command } from "commander";
import type { HealthCheck } from "../../config/schema.js";
import { type CliContext, configFor, wantsJson } from "../context.js";
import { json, table } from "../output.js";

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface CreateFlags {
  service: string;
  env?: string[];
  health?: string[];
  group?: string;
  canary?: boolean;
  hide?: string[];
  start?: boolean;
}

/** The container modules (execa, LXC), loaded when a container command runs rather than at start-up. */
const load = async () => {
  const [discover, driver, provision] = await Promise.all([import("../../containers/discover.js"), import("../../containers/lxc-driver.js"), import("../../containers/provision.js")]);
  return { ...discover, ...driver, ...provision };
};

export function registerContainers(program: Command, ctx: CliContext): void {
  const containers = program.command("containers").description("LXC overlay containers on this host");
  containers
    .command("list")
    .description("every container: managed (overlay on the host root) or not, with the reason")
    .action(async (_opts: unknown, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const { discoverContainers } = await load();
      const list = await discoverContainers({ lxcPath: config.lxc.path, hostRoot: config.lxc.hostRoot });
      if (wantsJson(cmd)) return ctx.output.out(json({ containers: list }));
      if (list.length === 0) return ctx.output.out(`no containers in ${config.lxc.path}`);
      ctx.output.out(
        table(
          ["NAME", "STATE", "MANAGED", "GROUP", "PIDS", "DELTA / REASON"],
          list.map((c) => [c.name, c.state, c.managed ? "yes" : "no", c.meta.group + (c.meta.canary ? " (canary)" : ""), String(c.pids.length), c.managed ? (c.deltaDir ?? "") : (c.unmanagedReason ?? "")]),
        ),
      );
    });
  containers
    .command("create <name>")
    .description("create (or update) an overlay container on the host root running one service, host secrets hidden")
    .requiredOption("--service <argv>", "the service command line, split on spaces (e.g. \"/bin/busybox httpd -f -p 127.0.0.1:8080 -h /srv/www\")")
    .option("--env <KEY=VALUE>", "service environment (repeatable)", collect)
    .option("--health <url>", "HTTP health check URL (repeatable)", collect)
    .option("--group <group>", "service group (a batch never takes a whole group)")
    .option("--canary", "restart this one first")
    .option("--hide <path>", "another host path to hide inside (repeatable)", collect)
    .option("--start", "start it after creating it")
    .action(async (name: string, opts: CreateFlags, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const { LxcDriver, createContainer, getContainer } = await load();
      const driver = new LxcDriver(config.lxc.path);
      const health: HealthCheck[] = (opts.health ?? []).map((url) => ({ type: "http", url, expectStatus: 200, timeoutMs: 2000 }));
      const env = Object.fromEntries((opts.env ?? []).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
      await createContainer(
        {
          name,
          lxcPath: config.lxc.path,
          hostRoot: config.lxc.hostRoot,
          service: opts.service.split(" ").filter(Boolean),
          env,
          // Other containers' deltas and snapshots live under the LXC path: no container may read them.
          hide: [config.stateDir, config.spoolDir, config.journalDir, config.lxc.path, ...(opts.hide ?? [])],
          meta: { v: 1, group: opts.group ?? "default", canary: opts.canary ?? false, health },
        },
        driver,
      );
      if (opts.start) await driver.start(name);
      const info = await getContainer({ lxcPath: config.lxc.path, hostRoot: config.lxc.hostRoot, driver }, name);
      if (wantsJson(cmd)) return ctx.output.out(json({ container: info }));
      ctx.output.out(`container ${name}: ${info.state}, delta ${info.deltaDir ?? "-"}`);
    });
  containers
    .command("destroy <name>")
    .description("stop a container and remove it, delta included")
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const { destroyContainer } = await load();
      await destroyContainer(config.lxc.path, name, { stopTimeoutSec: config.lxc.stopTimeoutSec });
      if (wantsJson(cmd)) return ctx.output.out(json({ destroyed: name }));
      ctx.output.out(`container ${name} destroyed`);
    });
}
