import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import { isPatchrollError, PatchrollError } from "../../errors/patchroll-error.js";
import { readJournal } from "../../journal/journal.js";
import { RolloutStore, type RolloutState } from "../../rollout/rollout-store.js";
import { journalFile } from "../../journal/paths.js";
import { journalState } from "../../rollout/resume.js";
import { type CliContext, configFor, wantsJson } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { json, table } from "../output.js";
import { withRedis } from "../with-redis.js";

function progressText(s: RolloutState): string {
  if (s.total === undefined) return "-";
  return `batch ${s.batch ?? 0}/${s.batches ?? 0}, ${s.done ?? 0}/${s.total} done, ${s.failures ?? 0} failed`;
}

export function registerRollouts(program: Command, ctx: CliContext): void {
  const rollouts = program.command("rollouts").description("rollouts on this host");
  rollouts
    .command("list")
    .description("list rollouts, newest first")
    .option("-n, --limit <n>", "how many", "50")
    .action(async (opts: { limit: string }, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const list = await withRedis(config, (r) => new RolloutStore(r, config).list(Number(opts.limit)));
      if (wantsJson(cmd)) return ctx.output.out(json({ rollouts: list }));
      if (list.length === 0) return ctx.output.out("no rollouts yet");
      ctx.output.out(table(["ID", "STATUS", "PACKAGES", "PROGRESS"], list.map((s) => [s.id, s.status, s.packages.join(","), progressText(s)])));
    });
  rollouts
    .command("start")
    .description("start a rollout for these packages now, as if an apt run had changed them (e.g. after a fix installed by hand)")
    .requiredOption("--packages <names...>", "the packages whose users to restart")
    .action(async (opts: { packages: string[] }, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const [{ closeQueues, openQueues }, { startManualRollout }] = await Promise.all([import("../../queue/queues.js"), import("../../rollout/manual-rollout.js")]);
      const started = await withRedis(config, async (r) => {
        const queues = openQueues(r, config);
        try {
          return await startManualRollout(r, queues, config, opts.packages);
        } finally {
          await closeQueues(queues);
        }
      });
      if (wantsJson(cmd)) return ctx.output.out(json(started));
      ctx.output.out(`rollout ${started.rolloutId} queued (event ${started.eventId}); follow it with: patchroll rollouts watch ${started.rolloutId}`);
    });
  rollouts
    .command("watch [id]")
    .description("follow a rollout (default: the newest) live, batch by batch, until it ends")
    .option("--interval <ms>", "how often to look", "500")
    .action(async (id: string | undefined, opts: { interval: string }, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      await withRedis(config, async (r) => {
        const store = new RolloutStore(r, config);
        const target = id ?? (await store.list(1))[0]?.id;
        if (target === undefined) throw new PatchrollError("NOT_FOUND", `no rollouts on host ${config.hostId} yet`);
        let last = "";
        let seen = 0;
        for (;;) {
          const s = await store.get(target);
          if (s === undefined) throw new PatchrollError("NOT_FOUND", `no rollout ${target} on host ${config.hostId}; see patchroll rollouts list`);
          const key = JSON.stringify([s.status, s.batch, s.done, s.waitReason, s.haltReason]);
          if (key !== last) {
            ctx.output.out(wantsJson(cmd) ? JSON.stringify(s) : watchLine(s, seen).join("\n"));
            last = key;
            seen = s.outcomes?.length ?? 0;
          }
          if (s.status === "completed" || s.status === "halted" || s.status === "aborted") {
            if (s.status !== "completed") ctx.exitCode = EXIT.HALTED;
            return;
          }
          await sleep(Number(opts.interval));
        }
      });
    });
  rollouts
    .command("show <id>")
    .description("show a rollout: state, containers and every journaled step")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      // The journal is the record: with Redis away (or flushed) the rollout is still shown from it.
      const state = await withRedis(config, (r) => new RolloutStore(r, config).get(id)).catch((err: unknown) => {
        if (isPatchrollError(err, "REDIS_UNAVAILABLE")) return undefined;
        throw err;
      });
      const journal = readJournal(journalFile(config, id));
      if (state === undefined && journal.entries.length === 0) throw new PatchrollError("NOT_FOUND", `no rollout ${id} on host ${config.hostId}; see patchroll rollouts list`);
      if (wantsJson(cmd)) return ctx.output.out(json({ rollout: state ?? null, journal: journal.entries, problems: journal.problems }));
      const lines = [
        `rollout  ${id}`,
        `status   ${state?.status ?? `${journalState(journal.entries).ended ?? "unknown"} (Redis unavailable or flushed: from the journal)`}`,
        ...(state?.haltReason ? [`halted   ${state.haltReason}`] : []),
        `progress ${state ? progressText(state) : "-"}`,
        "",
        table(["CONTAINER", "OUTCOME", "REASON"], (state?.outcomes ?? [...journalState(journal.entries).finished.values()]).map((o) => [o.container, o.outcome, o.reason])),
        "",
        ...journal.entries.map((e) => `${e.ts}  ${e.type.padEnd(16)} ${e.container ?? ""} ${summary(e.data)}`.trimEnd()),
      ];
      ctx.output.out(lines.join("\n"));
    });
}

/** One line per change of a rollout's state, until it ends: what `watch` prints. */
function watchLine(s: RolloutState, seen: number): string[] {
  const lines = (s.outcomes ?? []).slice(seen).map((o) => `  ${o.container}: ${o.outcome} (${o.reason})`);
  const head = `${new Date().toISOString()}  ${s.id}  ${s.status}  ${progressText(s)}${s.waitReason ? `  waiting: ${s.waitReason}` : ""}${s.haltReason ? `  ${s.haltReason}` : ""}`;
  return [head, ...lines];
}

function summary(data: Record<string, unknown>): string {
  const keys = ["step", "ok", "ms", "batch", "reason", "outcome", "snapshot", "detail", "error"];
  return keys.filter((k) => data[k] !== undefined).map((k) => `${k}=${typeof data[k] === "string" ? data[k] : JSON.stringify(data[k])}`).join(" ");
}
