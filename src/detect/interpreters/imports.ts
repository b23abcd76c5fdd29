import type { Language } from "./language.js";

/** What one source file says it loads (pure, static: statements the parser recognises). */
export interface SourceImports {
  /** Module names (`os.path`, `Foo::Bar`, `json`, `lodash`, `./util`), resolved on the search path. */
  modules: string[];
  /** File names given literally (`require 'x.rb'`, `. /usr/lib/x/lib.sh`, `include __DIR__ . '/x.php'`). */
  files: string[];
  /** Search directories it adds itself, literally (`use lib '/opt/x'`, `sys.path.insert(0, "/opt/x")`). */
  dirs?: string[];
  /** Why what it loads cannot be read from its text (a computed module name), if so. */
  dynamic?: string;
}

type Parser = (text: string) => SourceImports;

const strings = (s: string): string[] => [...s.matchAll(/['"]([^'"]+)['"]/g)].map((m) => m[1] as string);

function python(text: string): SourceImports {
  const modules: string[] = [];
  const dirs: string[] = [];
  let dynamic: string | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*$/, "");
    let m = /^\s*import\s+([\w., ]+)/.exec(line);
    if (m !== null) for (const part of (m[1] as string).split(",")) modules.push((part.trim().split(/\s+as\s+/)[0] as string).trim());
    m = /^\s*from\s+(\.*[\w.]*)\s+import\s+\(?([\w, ]*)/.exec(line);
    if (m !== null) {
      const base = m[1] as string;
      modules.push(base);
      // `from pkg import name` loads pkg.name when name is a submodule: the resolver keeps it only if it exists.
      for (const name of (m[2] as string).split(",").map((n) => (n.trim().split(/\s+as\s+/)[0] as string).trim())) if (/^\w+$/.test(name)) modules.push(`${base}${base.endsWith(".") ? "" : "."}${name}?`);
    }
    if (dynamic === undefined && /\b__import__\s*\(|\bimport_module\s*\(|\bexec\s*\(|\brunpy\.|\bimportlib\.util\./.test(line)) dynamic = `it imports by computed name (${line.trim().slice(0, 80)})`;
    const added = /\bsys\.path\.(?:insert\s*\(\s*[^,]+,|append\s*\()\s*(.*)\)/.exec(line);
    if (added !== null) {
      const literal = /^(?:r?['"])([^'"]+)['"]\s*$/.exec((added[1] as string).trim())?.[1];
      if (literal !== undefined) dirs.push(literal);
      else dynamic ??= `it extends its search path at run time (${line.trim().slice(0, 80)})`;
    }
  }
  return { modules: modules.filter((x) => x !== ""), files: [], ...(dirs.length > 0 ? { dirs } : {}), ...(dynamic !== undefined ? { dynamic } : {}) };
}

function perl(text: string): SourceImports {
  const modules: string[] = [];
  const files: string[] = [];
  const dirs: string[] = [];
  let dynamic: string | undefined;
  // Code after __END__ or __DATA__ is never compiled; POD is not code either.
  const code = text.split(/^__(?:END|DATA)__$/m)[0] as string;
  for (const raw of code.replace(/^=[a-zA-Z][\s\S]*?^=cut\b.*$/gm, "").split("\n")) {
    const line = raw.replace(/(^|\s)#.*$/, "");
    for (const m of line.matchAll(/\b(?:use|no|require)\s+([A-Za-z_][\w:]*)/g)) {
      const name = m[1] as string;
      const rest = line.slice((m.index ?? 0) + m[0].length);
      const list = /qw\s*[(/{[]([^)/}\]]*)/.exec(rest)?.[1];
      const args = (list !== undefined ? list.split(/\s+/) : strings(rest)).filter((x) => x !== "");
      if (name === "parent" || name === "base") modules.push(...args.filter((x) => /^[A-Za-z_][\w:]*$/.test(x)));
      if (name === "lib") {
        if (/[$@]/.test(rest.replace(/#.*$/, "")) && list === undefined) dynamic ??= `it extends @INC at run time (${line.trim().slice(0, 80)})`;
        else dirs.push(...args);
      }
      modules.push(name);
    }
    for (const m of line.matchAll(/\brequire\s+['"]([^'"$]+)['"]/g)) files.push(m[1] as string);
    if (dynamic === undefined && /\brequire\s+\$|\beval\s*(?:["']|qq?\W)|\bdo\s+['"$]|->require\b|\bload\s*\(/.test(line)) dynamic = `it loads code by computed name (${line.trim().slice(0, 80)})`;
  }
  return { modules: modules.filter((x) => !/^v?\d/.test(x)), files, ...(dirs.length > 0 ? { dirs } : {}), ...(dynamic !== undefined ? { dynamic } : {}) };
}

function ruby(text: string): SourceImports {
  const modules: string[] = [];
  const files: string[] = [];
  let dynamic: string | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/(^|\s)#.*$/, "");
    for (const m of line.matchAll(/\brequire\s*\(?\s*['"]([^'"#]+)['"]/g)) modules.push(m[1] as string);
    for (const m of line.matchAll(/\b(?:require_relative|load)\s*\(?\s*['"]([^'"#]+)['"]/g)) files.push(m[1] as string);
    if (dynamic === undefined && /\b(?:require|require_relative|load)\s*\(?\s*[^'"\s(]|\bautoload\b|\beval\s*[("']/.test(line)) dynamic = `it loads code by computed name (${line.trim().slice(0, 80)})`;
  }
  return { modules, files, ...(dynamic !== undefined ? { dynamic } : {}) };
}

function node(text: string): SourceImports {
  const modules: string[] = [];
  let dynamic: string | undefined;
  for (const m of text.matchAll(/\brequire\s*\(\s*['"`]([^'"`$]+)['"`]\s*\)/g)) modules.push(m[1] as string);
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(?:[\w*{}\s,$]+\s+from\s+)?['"]([^'"]+)['"]/gm)) modules.push(m[1] as string);
  for (const m of text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) modules.push(m[1] as string);
  const computed = /\brequire\s*\(\s*[^'"`\s)]|\bimport\s*\(\s*[^'"\s)]|\beval\s*\(|new\s+Function\s*\(/.exec(text);
  if (computed !== null) dynamic = `it loads code by computed name (${text.slice(computed.index, computed.index + 60).split("\n")[0]})`;
  return { modules, files: [], ...(dynamic !== undefined ? { dynamic } : {}) };
}

function php(text: string): SourceImports {
  const files: string[] = [];
  let dynamic: string | undefined;
  for (const m of text.matchAll(/\b(?:require|include)(?:_once)?\s*\(?\s*(__DIR__\s*\.\s*)?(['"])([^'"$]+)\2\s*\)?\s*;/g)) files.push(m[1] !== undefined ? `__DIR__${m[3] as string}` : (m[3] as string));
  const all = [...text.matchAll(/\b(?:require|include)(?:_once)?\b/g)].length;
  if (all > files.length) dynamic = "it includes files by computed name";
  else if (/\bspl_autoload_register\s*\(/.test(text)) dynamic = "it loads classes through an autoloader";
  return { modules: [], files, ...(dynamic !== undefined ? { dynamic } : {}) };
}

function shell(text: string): SourceImports {
  const files: string[] = [];
  let dynamic: string | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/(^|\s)#.*$/, "");
    for (const m of line.matchAll(/(?:^|[;&|]|\bthen|\bdo|\belse)\s*(?:\.|source)\s+("[^"]*"|'[^']*'|[^\s;&|)]+)/g)) {
      const word = (m[1] as string).replace(/^["']|["']$/g, "");
      if (/[$`*?]/.test(word)) dynamic ??= `it sources a file by computed name (${line.trim().slice(0, 80)})`;
      else files.push(word);
    }
  }
  return { modules: [], files, ...(dynamic !== undefined ? { dynamic } : {}) };
}

const PARSERS: Record<Language, Parser> = { python, perl, ruby, node, php, shell };

/** What a source file of `language` loads, read from its text (pure). */
export function parseImports(language: Language, text: string): SourceImports {
  return PARSERS[language](text);
}
