import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Command } from "commander";
import { PatchrollError } from "../../errors/patchroll-error.js";
import { writeFileDurableSync } from "../../fs/durable-file.js";
import { DOC_ROOT } from "../../report/changelog-read.js";
import { loadDigest } from "../../report/load-digest.js";
import { loadRolloutReport } from "../../report/load-report.js";
import { parseSince, parseTime } from "../../report/period.js";
import { REPORT_FORMATS, type ReportFormat, renderDigest, renderRolloutReport } from "../../report/render.js";
import { type CliContext, configFor, wantsJson } from "../context.js";

interface ReportOptions {
  format?: string;
  output?: string;
  since?: string;
  until?: string;
  docRoot?: string;
  fleet?: string;
}

/** Writes durably (src/fs/durable-file.ts), so a reader never sees half a report. */
function writeReport(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileDurableSync(file, text);
}

export function registerReport(program: Command, ctx: CliContext): void {
  program
    .command("report [rollout]")
    .description("post-incident report of a rollout (id or \"latest\") from its journal alone, a digest with --since, or a version across the fleet with --fleet")
    .option("-f, --format <format>", `md, html or json (--json is --format json)`, "md")
    .option("-o, --output <file>", "write the report to FILE instead of standard output")
    .option("--since <when>", "digest of the rollouts started since: 7d, 24h, 90m, 2w or an ISO date")
    .option("--until <when>", "end of the digest period (ISO date or time; default now)")
    .option("--doc-root <dir>", `where installed packages keep their changelogs (default ${DOC_ROOT})`)
    .option("--fleet <version>", "fleet mode: one package version (PKG=VERSION) across the fleet, from the shared Redis")
    .action(async (rollout: string | undefined, opts: ReportOptions, cmd: Command) => {
      const { config } = configFor(cmd, ctx);
      const format = (wantsJson(cmd) ? "json" : (opts.format ?? "md")) as ReportFormat;
      if (!REPORT_FORMATS.includes(format)) throw new PatchrollError("USAGE", `--format ${opts.format}: expected one of ${REPORT_FORMATS.join(", ")}`);
      if (opts.fleet !== undefined) {
        if (rollout !== undefined || opts.since !== undefined) throw new PatchrollError("USAGE", "--fleet PKG=VERSION reports one version across the fleet: give no rollout id and no --since with it");
        const { fleetReportText } = await import("../../fleet/fleet-report-command.js");
        const text = await fleetReportText(config, opts.fleet, format);
        if (opts.output === undefined) return ctx.output.out(text);
        writeReport(opts.output, text);
        return ctx.output.err(`patchroll: wrote ${format} report to ${opts.output}`);
      }
      if ((rollout === undefined) === (opts.since === undefined)) {
        throw new PatchrollError("USAGE", "give a rollout id (or \"latest\") for one report, or --since 7d for a digest; not both, not neither");
      }
      const src = { journalDir: config.journalDir, hostId: config.hostId, ...(opts.docRoot !== undefined ? { docRoot: opts.docRoot } : {}) };
      let text: string;
      if (rollout !== undefined) text = renderRolloutReport(await loadRolloutReport(src, rollout), format);
      else {
        const until = opts.until !== undefined ? parseTime(opts.until, "--until") : new Date();
        text = renderDigest(await loadDigest(src, parseSince(opts.since!, until), until), format);
      }
      if (opts.output === undefined) return ctx.output.out(text);
      writeReport(opts.output, text);
      ctx.output.err(`patchroll: wrote ${format} report to ${opts.output}`);
    });
}
