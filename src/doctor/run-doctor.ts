import { aptHooksCheck } from "./apt-hooks.js";
import type { CheckResult, DoctorCheck, DoctorContext } from "./check.js";
import { clockCheck } from "./clock.js";
import { hiddenPathsCheck } from "./hidden-paths.js";
import { hostRootCheck } from "./host-root.js";
import { redisCheck } from "./redis.js";
import { secretExposureCheck } from "./secret-exposure.js";
import { toolStarterCheck } from "./tool-starter.js";
import { journalWritableCheck, spoolWritableCheck } from "./writable-dirs.js";

/** Every check `patchroll doctor` runs, in the order it prints them. */
export const DOCTOR_CHECKS: readonly DoctorCheck[] = [aptHooksCheck, hostRootCheck, redisCheck, spoolWritableCheck, journalWritableCheck, clockCheck, hiddenPathsCheck, secretExposureCheck, toolStarterCheck];

/**
 * Runs the checks one after the other (some attach to containers; none is slow enough to parallelise).
 * A check that throws is itself reported as a finding: the doctor never dies half-way.
 */
export async function runDoctor(ctx: DoctorContext, checks: readonly DoctorCheck[] = DOCTOR_CHECKS): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    try {
      const r = await check.run(ctx);
      results.push(Array.isArray(r) ? { id: check.id, title: check.title, findings: r } : { id: check.id, title: check.title, skipped: r.skipped, findings: [] });
    } catch (err) {
      results.push({ id: check.id, title: check.title, findings: [{ severity: "error", problem: `the check itself failed: ${(err as Error).message}`, fix: "run patchroll doctor again as root; report a bug if it persists" }] });
    }
  }
  return results;
}
