// Prints /etc/patchroll/config.yaml as installed: every key of the configuration schema, commented out,
// with its description and its default, taken from the zod schema of the build being installed so that
// the file cannot drift from the code:
//   node config-template.mjs DIR      (DIR holds dist/src/config/schema.js, e.g. /usr/lib/patchroll)
// Layout: every line starts with "#". Removing ONE leading "# " from every line gives valid YAML with the
// defaults (test/deploy checks that it validates and equals the defaults); keys without a default stay
// comments ("# # url: ...") even then. Header lines start with "##".
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const dir = process.argv[2];
if (dir === undefined) {
  process.stderr.write("usage: config-template.mjs DIR\n");
  process.exit(2);
}
const { ConfigSchema } = await import(pathToFileURL(join(dir, "dist", "src", "config", "schema.js")).href);
const schema = ConfigSchema.toJSONSchema({ io: "input", unrepresentable: "any" });

/** Defaults that depend on the machine: shown as a placeholder, with the real rule in words. */
const MACHINE_DEFAULTS = { hostId: ["web1", "the machine's hostname"] };
/** Examples for keys without a default (shown commented out even in the "uncommented" file). */
const EXAMPLES = {
  "redis.url": "redis://redis.example.org:6379/0",
  "redis.sentinel": { name: "mymaster", sentinels: ["10.0.0.1:26379", "10.0.0.2:26379"] },
  "redis.password": "(a secret: prefer PATCHROLL_REDIS_PASSWORD in /etc/patchroll/redis.env, mode 0600)",
  "http.tokenFile": "/etc/patchroll/http-token",
};

const WIDTH = 100;
const out = [
  "## patchroll configuration (/etc/patchroll/config.yaml).",
  "##",
  "## Every key is commented out and shows its default: patchroll needs no configuration at all. To change a",
  "## key, uncomment it (and its section line), then check the file and restart the daemon:",
  "##   patchroll config check && systemctl restart patchroll",
  "## Precedence: command-line flag > environment (PATCHROLL_*) > this file > default. Unknown keys are errors.",
  "## Reference: /usr/lib/patchroll/docs/configuration.md. Secrets (redis.password) belong here (mode 0640) or in",
  "## an EnvironmentFile of the unit (mode 0600): containers created by patchroll never see /etc/patchroll.",
  "## Upgrades keep your edits: install.sh never overwrites this file, dpkg asks when both sides changed.",
  "",
];

const isSection = (s) => s.type === "object" && s.properties !== undefined;
const entries = Object.entries(schema.properties ?? {});
for (const [key, child] of entries) if (!isSection(child)) emitKey([key], child, "");
for (const [key, child] of entries) {
  if (!isSection(child)) continue;
  out.push("");
  for (const line of wrap(child.description ?? "", WIDTH - 4)) out.push(`# # ${line}`);
  const lines = [];
  for (const [leaf, s] of Object.entries(child.properties ?? {})) emitKey([key, leaf], s, "  ", lines);
  // A section line with only comments under it would parse as `key: null`, which the schema rejects.
  out.push(lines.some((l) => !/^# +#/.test(l)) ? `# ${key}:` : `# # ${key}:`, ...lines);
}
process.stdout.write(`${out.join("\n")}\n`);

function emitKey(path, s, indent, sink = out) {
  const key = path.at(-1);
  const dotted = path.join(".");
  const about = [s.description ?? ""];
  if (s.enum !== undefined) about.push(`One of: ${s.enum.join(", ")}.`);
  if (sink === out && out.at(-1) !== "") sink.push("#");
  for (const line of wrap(about.filter(Boolean).join(" "), WIDTH - 4 - indent.length)) sink.push(`# ${indent}# ${line}`);
  const machine = MACHINE_DEFAULTS[dotted];
  if (machine !== undefined) {
    if (!about.join(" ").includes(machine[1])) sink.push(`# ${indent}# Default: ${machine[1]}.`);
    sink.push(`# ${indent}${key}: ${machine[0]}`);
  } else if (s.default !== undefined) {
    sink.push(`# ${indent}${key}: ${JSON.stringify(s.default)}`);
  } else {
    const example = EXAMPLES[dotted];
    sink.push(`# ${indent}# ${key}: ${example === undefined ? "(unset by default)" : typeof example === "string" ? example : JSON.stringify(example)}`);
  }
}

function wrap(text, width) {
  const lines = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}
