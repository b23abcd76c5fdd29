import { runTool, type ToolOptions, type ToolResult } from "./run-tool.js";

/** Why a tool failed, in a few words: timed out, killed, or its first lines of complaint. */
export function failure(r: ToolResult): string {
  if (r.timedOut) return "timed out";
  if (r.signal !== undefined) return `killed by ${r.signal}`;
  const stderr = r.stderr.trim().split("\n").slice(0, 5).join("; ");
  return stderr !== "" ? `${stderr} (exit ${r.exitCode ?? "?"})` : `exit ${r.exitCode ?? "?"}`;
}

/**
 * Runs a tool through the one starter ({@link runTool}) and resolves with its result when it exited 0;
 * otherwise rejects with an Error naming the command and saying why ({@link failure}).
 */
export async function runToolOk(file: string, args: readonly string[], opts: ToolOptions = {}): Promise<ToolResult> {
  const r = await runTool(file, args, opts).result;
  if (r.exitCode !== 0) throw new Error(`${[file, ...args].join(" ")} failed: ${failure(r)}`);
  return r;
}
