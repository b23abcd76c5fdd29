import type { Command } from "commander";
import { PatchrollError } from "../../errors/patchroll-error.js";
import type { AptEvent } from "../../intake/apt-event.js";
import { EventStore } from "../../intake/event-store.js";
import { type CliContext, configFor, wantsJson } from "../context.js";
import { json, table } from "../output.js";
import { withRedis } from "../with-redis.js";

/** The unattended-upgrades verdict in a few words: `ok`, `failed: dpkg failed on libfoo`, or `-`. */
export function describeOutcome(event: Pick<AptEvent, "outcome">): string {
  if (event.outcome === undefined) return "-";
  return event.outcome.reason === undefined ? event.outcome.status : `${event.outcome.status}: ${event.outcome.reason}`;
}

/** Who ran the apt run, as far as the sources tell. */
export function describeRunner(event: Pick<AptEvent, "unattended" | "sources" | "commandLine">): string {
  if (event.unattended === true) return "unattended-upgrades";
  if (event.commandLine !== undefined) return event.commandLine;
  if (event.unattended === false) return "an apt front end";
  return event.sources.includes("hook") ? "an apt front end" : "unknown (seen in dpkg.log only)";
}

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
      ctx.output.out(table(["ID", "TIME", "ORIGIN", "SOURCES", "OUTCOME", "PACKAGES"], list.map((e) => [e.id, e.time, e.origin, e.sources.join(","), e.outcome?.status ?? "-", describeChanges(e)])));
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
          `run by   ${describeRunner(event)}`,
          `origin   ${event.origin}${event.uu !== undefined && event.uu.origins.length > 0 ? ` (allowed origins: ${event.uu.origins.join("; ")})` : ""}`,
          `sources  ${event.sources.join(", ")}`,
          ...(event.outcome ? [`outcome  ${describeOutcome(event)}`] : []),
          ...(event.uu !== undefined && event.uu.keptBack.length > 0 ? [`kept back ${event.uu.keptBack.join(", ")}`] : []),
          ...(event.uu?.rebootRequired === true ? ["reboot   required"] : []),
          "packages",
          table(["  NAME", "ARCH", "FROM", "TO", "ACTION"], event.packages.map((p) => [`  ${p.name}`, p.arch, p.from ?? "-", p.to ?? "-", p.action])),
        ].join("\n"),
      );
    });
}
