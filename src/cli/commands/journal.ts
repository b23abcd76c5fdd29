import type { Command } from "commander";
import { PatchrollError } from "../../errors/patchroll-error.js";
import { listJournals, readJournal } from "../../journal/journal.js";
import { journalExists, journalFile } from "../../journal/paths.js";
import { pruneJournals } from "../../journal/prune.js";
import { verifyJournal } from "../../journal/verify.js";
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
      if (rollout !== undefined && !journalExists(config, rollout)) {
        throw new PatchrollError("NOT_FOUND", `no journal for rollout ${rollout} on host ${config.hostId} under ${config.journalDir}; see patchroll journal verify (all)`);
      }
      const ids = rollout !== undefined ? [rollout] : listJournals(config.journalDir, config.hostId);
      const results = ids.map((id) => verifyJournal(readJournal(journalFile(config, id)), { host: config.hostId, rollout: id }));
      if (results.some((r) => r.problems.length > 0 || r.sequenceGaps.length > 0)) ctx.exitCode = EXIT.FINDINGS;
      if (wantsJson(cmd)) return ctx.output.out(json({ journals: results }));
      if (results.length === 0) return ctx.output.out("no journals yet");
      const rows = results.map((r) => {
        const findings = [...r.problems.map((p) => `line ${p.line}: ${p.reason}`), ...r.sequenceGaps.map((s) => `sequence gap at ${s}`)];
        const notes = r.warnings.map((w) => `warning: ${w}`);
        return [r.rollout, String(r.entries), r.finished ?? "unfinished", [...findings, ...notes].join("; ") || "ok"];
      });
      ctx.output.out(table(["ROLLOUT", "ENTRIES", "END", "PROBLEMS"], rows));
    });
  journal
    .command("prune")
    .description("apply the retention policy (journal.*): compress old finished journals, delete those past retention")
    .option("--dry-run", "only say what would be done")
    .action((opts: { dryRun?: boolean }, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const r = pruneJournals(config.journalDir, config.hostId, config.journal, { dryRun: opts.dryRun === true });
      if (wantsJson(cmd)) return ctx.output.out(json({ prune: r }));
      const verb = r.dryRun ? "would " : "";
      const lines = [
        `${verb}compress ${r.compress.length}: ${r.compress.join(", ") || "-"}`,
        `${verb}delete ${r.remove.length}: ${r.remove.join(", ") || "-"}`,
        ...(r.deferred.length > 0 ? [`deferred (grew while compressing, retried next time): ${r.deferred.join(", ")}`] : []),
        ...(r.unfinishedPastRetention.length > 0
          ? [`kept, unfinished and past retention (look with patchroll rollouts show ID; delete by hand when done): ${r.unfinishedPastRetention.join(", ")}`]
          : []),
      ];
      ctx.output.out(lines.join("\n"));
    });
}
