import { z } from "zod";
import { envName } from "./env.js";
import { ConfigSchema } from "./schema.js";

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
}

/** Defaults that depend on the machine, shown in words instead of this machine's value. */
const MACHINE_DEFAULTS: Record<string, string> = { hostId: "the machine's hostname" };

/**
 * docs/configuration.md, generated from the zod schema so that it cannot drift from it (a test checks
 * that the committed file is current; `npm run docs` rewrites it).
 */
export function renderConfigReference(): string {
  const schema = z.toJSONSchema(ConfigSchema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const out: string[] = [
    "# Configuration reference",
    "",
    "<!-- Generated from src/config/schema.ts by `npm run docs`; do not edit by hand. -->",
    "",
    "patchroll reads `/etc/patchroll/config.yaml` (or `--config FILE`, or `PATCHROLL_CONFIG`). A host needs no",
    "file at all: every key has a default. Precedence: command-line flag (`--set KEY=VALUE`, or the named",
    "flags) > environment variable > file > default. Unknown keys are errors that name the key path.",
    "`patchroll config check [FILE]` validates a file and prints the effective configuration, secrets redacted.",
    "Environment values are read as JSON when they parse (numbers, lists, booleans), as text otherwise.",
    "",
  ];
  walk(schema, out);
  return `${out.join("\n")}\n`;
}

const HEADER = ["| key | type | default | environment | meaning |", "|---|---|---|---|---|"];

/** Top-level keys first, then one section per group of keys, in schema order. */
function walk(schema: JsonSchema, out: string[]): void {
  const entries = Object.entries(schema.properties ?? {});
  const isSection = (s: JsonSchema) => s.type === "object" && s.properties !== undefined;
  out.push("## Top level", "", ...HEADER);
  for (const [key, child] of entries) if (!isSection(child)) out.push(row([key], child));
  for (const [key, child] of entries) {
    if (!isSection(child)) continue;
    out.push("", `## \`${key}\``, "", child.description ?? "", "", ...HEADER);
    for (const [leaf, s] of Object.entries(child.properties ?? {})) out.push(row([key, leaf], s));
  }
}

function row(path: string[], s: JsonSchema): string {
  const key = path.join(".");
  const dflt = MACHINE_DEFAULTS[key] ?? (s.default === undefined ? "(unset)" : `\`${JSON.stringify(s.default)}\``);
  return `| \`${key}\` | ${typeOf(s)} | ${dflt} | \`${envName(path)}\` | ${(s.description ?? "").replaceAll("|", "\\|")} |`;
}

function typeOf(s: JsonSchema): string {
  if (s.enum !== undefined) return s.enum.map((e) => `\`${String(e)}\``).join(" \\| ");
  if (s.anyOf !== undefined) return s.anyOf.map(typeOf).join(" or ");
  if (s.type === "array") return `list of ${s.items ? typeOf(s.items) : "values"}`;
  if (s.type === "integer" || s.type === "number") {
    const range = s.minimum !== undefined || s.maximum !== undefined ? ` (${s.minimum ?? ""}..${s.maximum ?? ""})` : "";
    return `${s.type}${range}`;
  }
  if (s.type === "object") return "mapping";
  if (s.type === "string" && s.pattern === "^([1-9][0-9]?|100)%$") return "percentage";
  return String(s.type ?? "value");
}
