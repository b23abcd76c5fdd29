import { withRedis } from "../cli/with-redis.js";
import type { Config } from "../config/schema.js";
import { PatchrollError } from "../errors/patchroll-error.js";
import { requireFleet } from "./fleet-mode.js";
import { loadFleetReport } from "./load-fleet-report.js";
import { renderFleetReport } from "./render-fleet-report.js";
import { parseVersionKey } from "./version-state.js";

/** `patchroll report --fleet PKG=VERSION`: the report's text in `format`. */
export async function fleetReportText(config: Config, version: string, format: "md" | "html" | "json"): Promise<string> {
  requireFleet(config);
  const v = parseVersionKey(version);
  if (typeof v === "string") throw new PatchrollError("USAGE", `--fleet ${v}`);
  return renderFleetReport(await withRedis(config, (redis) => loadFleetReport(redis, config, v)), format);
}
