import type { Command } from "commander";
import { listJournals, readJournal } from "../../journal/journal.js";
import { journalFile } from "../../journal/paths.js";
import { type CliContext, configFor, wantsJson } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { json, table } from "../output.js";

export function registerJournal(program: Command, ctx: CliContext): void {
  const journal = program.command("journal").description("the append-only record reports are built from");
  journal
    .command("verify [rollout]")
    .description("check every journal line (or one rollout's) for integrity; a torn last line after a crash is reported")
    .action((rollout: string | undefined, _opts: unknown, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const ids = rollout !== undefined ? [rollout] : listJournals(config.journalDir, config.hostId);
      const results = ids.map((id) => {
        const { entries, problems } = readJournal(journalFile(config, id));
        const gaps = entries.filter((e, i) => e.seq !== i + 1).map((e) => e.seq);
        return { rollout: id, entries: entries.length, problems, sequenceGaps: gaps };
      });
      if (results.some((r) => r.problems.length > 0 || r.sequenceGaps.length > 0)) ctx.exitCode = EXIT.FINDINGS;
      if (wantsJson(cmd)) return ctx.output.out(json({ journals: results }));
      if (results.length === 0) return ctx.output.out("no journals yet");
      ctx.output.out(table(["ROLLOUT", "ENTRIES", "PROBLEMS"], results.map((r) => [r.rollout, String(r.entries), [...r.problems.map((p) => `line ${p.line}: ${p.reason}`), ...r.sequenceGaps.map((s) => `sequence gap at ${s}`)].join("; ") || "ok"])));
    });
}
