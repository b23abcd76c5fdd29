import type { Command } from "commander";
import { PatchrollError } from "../../errors/patchroll-error.js";
import type { AptEvent } from "../../intake/apt-event.js";
import { EventStore } from "../../intake/event-store.js";
import { type CliContext, configFor, wantsJson } from "../context.js";
import { json, table } from "../output.js";
import { withRedis } from "../with-redis.js";

/** One line per package: `libssl3 3.0.19 -> 3.0.22`. */
export function describeChanges(event: Pick<AptEvent, "packages">): string {
  return event.packages.map((p) => `${p.name} ${p.from ?? "(new)"} -> ${p.to ?? "(removed)"}`).join(", ");
}

export function registerEvents(program: Command, ctx: CliContext): void {
  const events = program.command("events").description("package changes seen on this host, one per apt run");
  events
    .command("list")
    .description("list recent events, newest first")
    .option("-n, --limit <n>", "how many", "50")
    .action(async (opts: { limit: string }, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const list = await withRedis(config, (r) => new EventStore(r, config).listEvents(Number(opts.limit)));
      if (wantsJson(cmd)) return ctx.output.out(json({ events: list }));
      if (list.length === 0) return ctx.output.out("no events yet");
      ctx.output.out(table(["ID", "TIME", "ORIGIN", "SOURCES", "PACKAGES"], list.map((e) => [e.id, e.time, e.origin, e.sources.join(","), describeChanges(e)])));
    });
  events
    .command("show <id>")
    .description("show one event")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const event = await withRedis(config, (r) => new EventStore(r, config).getEvent(id));
      if (event === undefined) throw new PatchrollError("NOT_FOUND", `no event ${id} on host ${config.hostId}; see patchroll events list`);
      if (wantsJson(cmd)) return ctx.output.out(json({ event }));
      ctx.output.out(
        [
          `event    ${event.id}`,
          `time     ${event.time}${event.endedAt ? ` (dpkg finished ${event.endedAt})` : ""}`,
          `origin   ${event.origin}`,
          `sources  ${event.sources.join(", ")}`,
          ...(event.outcome ? [`outcome  ${event.outcome.status}${event.outcome.reason ? `: ${event.outcome.reason}` : ""}`] : []),
          "packages",
          table(["  NAME", "ARCH", "FROM", "TO", "ACTION"], event.packages.map((p) => [`  ${p.name}`, p.arch, p.from ?? "-", p.to ?? "-", p.action])),
        ].join("\n"),
      );
    });
}
