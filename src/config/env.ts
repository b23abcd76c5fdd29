import type { z } from "zod";
import { PatchrollError } from "../errors/patchroll-error.js";
import { ConfigSchema } from "./schema.js";

const PREFIX = "PATCHROLL_";
/** Variables that steer loading itself rather than setting a key. */
const RESERVED = new Set(["PATCHROLL_CONFIG"]);

interface Leaf {
  path: string[];
  /** True when the value is taken as text; otherwise it is parsed as JSON (numbers, lists, booleans). */
  text: boolean;
}

/** Every settable key of the schema with its environment variable name, e.g. `PATCHROLL_REDIS_URL`. */
export function envVariables(): Map<string, Leaf> {
  const out = new Map<string, Leaf>();
  walk(ConfigSchema, [], out);
  return out;
}

/** Reads `PATCHROLL_*` variables into a partial config object. Unknown names are errors. */
export function envOverrides(env: NodeJS.ProcessEnv): { values: Record<string, unknown>; names: string[] } {
  const known = envVariables();
  const values: Record<string, unknown> = {};
  const names: string[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(PREFIX) || RESERVED.has(name) || raw === undefined) continue;
    const leaf = known.get(name);
    if (leaf === undefined) {
      throw new PatchrollError("CONFIG_INVALID", `environment ${name}: no such setting. Unset it, or see docs/configuration.md for the PATCHROLL_* names.`);
    }
    setPath(values, leaf.path, leaf.text ? raw : parseValue(raw));
    names.push(name);
  }
  return { values, names };
}

/** `healthTimeoutMs` -> `HEALTH_TIMEOUT_MS`. */
export function envName(path: readonly string[]): string {
  return PREFIX + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()).join("_");
}

function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

type AnyDef = { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType> };

function defOf(schema: z.ZodType): AnyDef {
  return (schema as unknown as { _zod: { def: AnyDef } })._zod.def;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let def = defOf(s); def.innerType !== undefined; def = defOf(s)) s = def.innerType;
  return s;
}

function walk(schema: z.ZodType, path: string[], out: Map<string, Leaf>): void {
  const inner = unwrap(schema);
  const def = defOf(inner);
  if (def.type === "object" && def.shape !== undefined && !isDiscriminated(path)) {
    for (const [key, child] of Object.entries(def.shape)) walk(child, [...path, key], out);
    return;
  }
  out.set(envName(path), { path, text: def.type === "string" || def.type === "enum" });
}

/** Nested objects that are values in their own right (sentinel) are set as JSON in one variable. */
function isDiscriminated(path: readonly string[]): boolean {
  return path.join(".") === "redis.sentinel";
}
