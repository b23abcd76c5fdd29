import type { Config } from "../config/schema.js";
import type { ContainerDriver } from "../containers/driver.js";
import type { RunbookSlug } from "../status/runbooks.js";

/** One problem `patchroll doctor` found, with how to fix it. */
export interface Finding {
  severity: "error" | "warning";
  /** What is wrong, in one sentence that names the thing (file, container, setting). */
  problem: string;
  /** How to fix it: the exact commands where there are some. */
  fix: string;
  runbook?: RunbookSlug;
}

/** The result of one check. */
export interface CheckResult {
  id: string;
  title: string;
  /** Why the check did not run (nothing to check, a tool missing); findings are empty then. */
  skipped?: string;
  findings: Finding[];
}

/** What the checks look at. */
export interface DoctorContext {
  config: Config;
  /** The configuration file in use, if any (patchroll's own credentials may be in it). */
  configFile?: string;
  /** The dashboard token file (`http.tokenFile` or its default). */
  tokenFile: string;
  driver: ContainerDriver;
  /** An extra apt configuration file for `apt-config -c` (tests); default: the machine's configuration. */
  aptConfigFile?: string;
  now: () => Date;
}

/** One check of the installation. It reports problems as findings and never throws for them. */
export interface DoctorCheck {
  id: string;
  title: string;
  run(ctx: DoctorContext): Promise<Finding[] | { skipped: string }>;
}
