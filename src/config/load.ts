import { existsSync, readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { z } from "zod";
import { PatchrollError } from "../errors/patchroll-error.js";
import { type Config, ConfigSchema } from "./schema.js";
import { envOverrides } from "./env.js";

/** Default location of the configuration file. A host needs none: every key has a default. */
export const DEFAULT_CONFIG_FILE = "/etc/patchroll/config.yaml";

export interface LoadOptions {
  /** Explicit config file (`--config`); an explicit file that does not exist is an error. */
  file?: string | undefined;
  /** Environment to read `PATCHROLL_*` from. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, highest precedence, as a partial config object. */
  flags?: Record<string, unknown>;
}

export interface LoadedConfig {
  config: Config;
  /** The file that was read, or undefined when defaults (plus env and flags) sufficed. */
  file: string | undefined;
}

/** Loads and validates the configuration: flag > environment > file > default. Result is frozen. */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  // An empty PATCHROLL_CONFIG counts as unset, as shells make it easy to export one.
  const explicit = options.file ?? (env["PATCHROLL_CONFIG"] === "" ? undefined : env["PATCHROLL_CONFIG"]);
  const file = explicit ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  const fromFile = file === undefined ? {} : readConfigFile(file);
  const fromEnv = envOverrides(env);
  const merged = deepMerge(deepMerge(fromFile, fromEnv.values), options.flags ?? {});
  const where = [file ?? "(no config file)", fromEnv.names.length > 0 ? `environment ${fromEnv.names.join(", ")}` : undefined]
    .filter(Boolean)
    .join(" + ");
  const result = ConfigSchema.safeParse(merged, { reportInput: true });
  if (!result.success) throw configError(where, result.error);
  return { config: deepFreeze(result.data), file };
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new PatchrollError("CONFIG_INVALID", `${file}: cannot read the configuration file (${(err as Error).message}). Check the path, or omit --config to use the defaults.`, { cause: err });
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new PatchrollError("CONFIG_INVALID", `${file}: not valid YAML: ${first.message}`);
  }
  const value: unknown = doc.toJS() ?? {};
  if (typeof value !== "object" || Array.isArray(value) || value === null) {
    throw new PatchrollError("CONFIG_INVALID", `${file}: expected a mapping of keys at the top level, found ${describe(value)}.`);
  }
  return value as Record<string, unknown>;
}

/** Turns zod issues into one message that names the source, each key path, what was expected and what was found. */
export function configError(where: string, error: z.ZodError): PatchrollError {
  const lines = error.issues.map((issue) => {
    const path = issue.path.map(String).join(".") || "(top level)";
    if (issue.code === "unrecognized_keys") {
      const base = issue.path.length > 0 ? `${path}.` : "";
      return issue.keys.map((k) => `  ${base}${k}: unknown key; remove it or check its spelling`).join("\n");
    }
    const found = "input" in issue ? `; found ${describe(issue.input)}` : "";
    return `  ${path}: ${issue.message}${found}`;
  });
  return new PatchrollError("CONFIG_INVALID", `invalid configuration in ${where}:\n${lines.join("\n")}`, { cause: error });
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return `a list (${JSON.stringify(value).slice(0, 60)})`;
  if (typeof value === "object") return "a mapping";
  return `${typeof value} ${JSON.stringify(value).slice(0, 60)}`;
}

/** Merges `over` onto `base`: mappings merge key by key, everything else is replaced. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = isPlainObject(prev) && isPlainObject(value) ? deepMerge(prev, value) : value;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
