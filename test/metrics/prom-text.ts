/**
 * A strict parser of the Prometheus text exposition format 0.0.4 (what Prometheus scrapes), for tests:
 * it throws on anything Prometheus would reject or that breaks the format's rules (a sample before its
 * TYPE, a family split in two, a bad name, label or value, a histogram whose buckets do not add up).
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help?: string;
  samples: Sample[];
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** Values as Prometheus reads them (Go's ParseFloat): decimals, and Inf/NaN in any letter case. */
function parseValue(text: string, where: string): number {
  if (/^\+?inf(inity)?$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/i.test(text)) return Number.NEGATIVE_INFINITY;
  if (/^nan$/i.test(text)) return Number.NaN;
  if (!/^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(text)) throw new Error(`${where}: bad value ${JSON.stringify(text)}`);
  return Number(text);
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`${where}: label without '='`);
    const name = text.slice(i, eq).trim();
    if (!LABEL.test(name)) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    if (text[eq + 1] !== '"') throw new Error(`${where}: label value of ${name} not quoted`);
    let j = eq + 2;
    let value = "";
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        const next = text[++j];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else throw new Error(`${where}: bad escape \\${next}`);
      } else value += text[j];
    }
    if (text[j] !== '"') throw new Error(`${where}: unterminated label value`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (i < text.length) throw new Error(`${where}: expected ',' after label ${name}`);
  }
  return labels;
}

/** The family a sample name belongs to (histogram and summary suffixes stripped when that family exists). */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (f !== undefined && (f.type === "histogram" || f.type === "summary")) return f;
  }
  return families.get(name);
}

function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (s.name.endsWith("_bucket")) {
      if (le === undefined) throw new Error(`${f.name}: bucket without le`);
      entry.buckets.push([parseValue(le, `${f.name} le`), s.value]);
    } else if (s.name.endsWith("_count")) entry.count = s.value;
    else if (s.name.endsWith("_sum")) entry.sum = s.value;
  }
  for (const [key, e] of series) {
    const last = e.buckets.at(-1);
    if (last === undefined || last[0] !== Number.POSITIVE_INFINITY) throw new Error(`${f.name}${key}: no +Inf bucket`);
    for (let i = 1; i < e.buckets.length; i++) {
      if (e.buckets[i]![0] <= e.buckets[i - 1]![0]) throw new Error(`${f.name}${key}: buckets out of order`);
      if (e.buckets[i]![1] < e.buckets[i - 1]![1]) throw new Error(`${f.name}${key}: buckets not cumulative`);
    }
    if (e.count === undefined || e.sum === undefined) throw new Error(`${f.name}${key}: _count or _sum missing`);
    if (e.count !== last[1]) throw new Error(`${f.name}${key}: _count ${e.count} differs from the +Inf bucket ${last[1]}`);
  }
}

/** Parses a whole exposition; families keyed by name. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  let current: Family | undefined;
  const lines = text.split("\n");
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  lines.forEach((line, n) => {
    const where = `line ${n + 1}`;
    if (line.trim() === "") return;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta !== null) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (!METRIC.test(name)) throw new Error(`${where}: bad metric name ${name}`);
      if (closed.has(name)) throw new Error(`${where}: family ${name} appears twice`);
      if (current !== undefined && current.name !== name) closed.add(current.name);
      let f = families.get(name);
      if (f === undefined) {
        f = { name, type: "untyped", samples: [] };
        families.set(name, f);
      } else if (f.samples.length > 0) throw new Error(`${where}: ${kind} of ${name} after its samples`);
      if (kind === "HELP") {
        if (f.help !== undefined) throw new Error(`${where}: second HELP for ${name}`);
        f.help = rest.replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
      } else {
        if (!TYPES.has(rest)) throw new Error(`${where}: bad type ${rest}`);
        f.type = rest as Family["type"];
      }
      current = f;
      return;
    }
    if (line.startsWith("#")) return;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (m === null) throw new Error(`${where}: not a sample: ${JSON.stringify(line)}`);
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    let f = familyOf(name, families);
    if (f === undefined) {
      f = { name, type: "untyped", samples: [] };
      families.set(name, f);
    }
    if (closed.has(f.name) || (current !== undefined && current !== f && f.samples.length > 0)) throw new Error(`${where}: samples of ${f.name} are not together`);
    if (current !== undefined && current !== f) closed.add(current.name);
    current = f;
    f.samples.push({ name, labels: parseLabels(labelText ?? "", where), value: parseValue(valueText, where) });
  });
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

/** The value of the one sample of `name` whose labels include `labels`; throws when there is not exactly one. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const all = [...families.values()].flatMap((f) => f.samples).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (all.length !== 1) throw new Error(`${all.length} samples of ${name} ${JSON.stringify(labels)}`);
  return all[0]!.value;
}
