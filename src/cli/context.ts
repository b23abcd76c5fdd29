import type { Command } from "commander";
import { loadConfig, type LoadedConfig } from "../config/load.js";
import { PatchrollError } from "../errors/patchroll-error.js";
import type { Output } from "./output.js";

/** What every command gets: where to write, the environment, and the global flags. */
export interface CliContext {
  output: Output;
  env: NodeJS.ProcessEnv;
  /** Set by a command whose outcome is not plain success (see exit-codes.ts). */
  exitCode?: number;
}

/** Global flags (given before or after the command name). */
export interface GlobalFlags {
  config?: string;
  hostId?: string;
  stateDir?: string;
  lxcPath?: string;
  redisUrl?: string;
  set?: string[];
  json?: boolean;
}

/** Loads the configuration with the command line's flags on top (flag > env > file > default). */
export function configFor(cmd: Command, ctx: CliContext, file?: string): LoadedConfig {
  const g = cmd.optsWithGlobals<GlobalFlags>();
  const flags: Record<string, unknown> = {};
  if (g.hostId !== undefined) flags["hostId"] = g.hostId;
  if (g.stateDir !== undefined) flags["stateDir"] = g.stateDir;
  if (g.lxcPath !== undefined) flags["lxc"] = { path: g.lxcPath };
  if (g.redisUrl !== undefined) flags["redis"] = { url: g.redisUrl };
  for (const kv of g.set ?? []) setFlag(flags, kv);
  return loadConfig({ file: file ?? g.config, env: ctx.env, flags });
}

/** `--set rollout.bakeMs=500`: a dotted key and a value (JSON if it parses, text otherwise). */
function setFlag(flags: Record<string, unknown>, kv: string): void {
  const eq = kv.indexOf("=");
  if (eq <= 0) throw new PatchrollError("USAGE", `--set ${kv}: expected KEY=VALUE, e.g. --set rollout.bakeMs=500`);
  const path = kv.slice(0, eq).split(".");
  const raw = kv.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // plain text
  }
  let node = flags;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node = (node[key] = typeof next === "object" && next !== null ? next : {}) as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}

export function wantsJson(cmd: Command): boolean {
  return cmd.optsWithGlobals<GlobalFlags>().json === true;
}
