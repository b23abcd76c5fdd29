import { builtinModules } from "node:module";
import { dirname, isAbsolute, join, normalize } from "node:path";
import type { Language } from "./language.js";

/** Is there a regular file at this container path (through the container's layers)? */
export type FileExists = (path: string) => boolean;

const NODE_BUILTIN = new Set(builtinModules);

/** Python: the files `import a.b.c` loads from the first search dir that has `a`: each package's __init__.py and the module. */
function python(name: string, from: string, dirs: readonly string[], exists: FileExists): string[] {
  const optional = name.endsWith("?");
  let mod = optional ? name.slice(0, -1) : name;
  let roots = dirs;
  const dots = /^\.+/.exec(mod)?.[0].length ?? 0;
  if (dots > 0) {
    let base = dirname(from);
    for (let i = 1; i < dots; i++) base = dirname(base);
    roots = [base];
    mod = mod.slice(dots);
    if (mod === "") return [join(base, "__init__.py")].filter(exists);
  }
  const parts = mod.split(".");
  for (const dir of roots) {
    const top = join(dir, parts[0] as string);
    if (!exists(`${top}.py`) && !exists(join(top, "__init__.py"))) continue;
    const out: string[] = [];
    for (let i = 1; i <= parts.length; i++) {
      const p = join(dir, ...parts.slice(0, i));
      if (exists(join(p, "__init__.py"))) out.push(join(p, "__init__.py"));
      else if (exists(`${p}.py`)) out.push(`${p}.py`);
      else break;
    }
    return out;
  }
  return [];
}

function perl(name: string, _from: string, dirs: readonly string[], exists: FileExists): string[] {
  const rel = name.includes("/") || name.endsWith(".pl") || name.endsWith(".pm") ? name : `${name.replace(/::/g, "/")}.pm`;
  if (isAbsolute(rel)) return exists(rel) ? [rel] : [];
  for (const dir of dirs) if (exists(join(dir, rel))) return [join(dir, rel)];
  return [];
}

function ruby(name: string, from: string, dirs: readonly string[], exists: FileExists): string[] {
  const rel = name.endsWith(".rb") ? name : `${name}.rb`;
  if (isAbsolute(rel)) return exists(rel) ? [rel] : [];
  if (name.startsWith(".")) return [join(dirname(from), rel)].filter(exists);
  for (const dir of dirs) if (exists(join(dir, rel))) return [join(dir, rel)];
  // An extension library (`require "socket"`) is mapped, so the maps check sees it; it counts as found.
  for (const dir of dirs) if (exists(join(dir, `${name}.so`))) return [join(dir, `${name}.so`)];
  return [];
}

/** The file node loads for a path: as is, with an extension, or a directory's index. */
function nodeFile(p: string, exists: FileExists): string | undefined {
  for (const c of [p, `${p}.js`, `${p}.mjs`, `${p}.cjs`, `${p}.json`, join(p, "index.js"), join(p, "index.mjs"), join(p, "index.cjs")]) if (exists(c)) return c;
  return undefined;
}

/** A module the interpreter has built in: nothing to find on disk (Node.js's `fs`, `node:path` ...). */
export function isBuiltin(language: Language, name: string): boolean {
  return language === "node" && (name.startsWith("node:") || NODE_BUILTIN.has(name));
}

function node(name: string, from: string, dirs: readonly string[], exists: FileExists): string[] {
  if (isBuiltin("node", name)) return [];
  if (name.startsWith("./") || name.startsWith("../") || isAbsolute(name)) {
    const hit = nodeFile(isAbsolute(name) ? name : join(dirname(from), name), exists);
    return hit === undefined ? [] : [hit];
  }
  const lookIn: string[] = [];
  for (let d = dirname(from); ; d = dirname(d)) {
    if (!d.endsWith("/node_modules")) lookIn.push(join(d, "node_modules"));
    if (d === "/") break;
  }
  for (const dir of [...lookIn, ...dirs]) {
    const hit = nodeFile(join(dir, name), exists);
    if (hit !== undefined) return [hit];
  }
  return [];
}

function php(name: string, from: string, dirs: readonly string[], exists: FileExists): string[] {
  if (name.startsWith("__DIR__")) return [normalize(join(dirname(from), name.slice("__DIR__".length)))].filter(exists);
  if (isAbsolute(name)) return exists(name) ? [name] : [];
  for (const dir of [...dirs, dirname(from)]) if (exists(join(dir, name))) return [join(dir, name)];
  return [];
}

function shell(name: string, from: string, dirs: readonly string[], exists: FileExists): string[] {
  if (isAbsolute(name)) return exists(name) ? [name] : [];
  for (const dir of dirs) if (exists(join(dir, name))) return [join(dir, name)];
  return [join(dirname(from), name)].filter(exists);
}

const RESOLVERS: Record<Language, (name: string, from: string, dirs: readonly string[], exists: FileExists) => string[]> = { python, perl, ruby, node, php, shell };

/** The files a module name (or literal file name) found in `from` loads, as the interpreter would find them. */
export function resolveModule(language: Language, name: string, from: string, dirs: readonly string[], exists: FileExists): string[] {
  return RESOLVERS[language](name, from, dirs, exists);
}

/** Modules every run of the interpreter loads before the script (Python's site machinery and codecs). */
export const STARTUP_MODULES: Partial<Record<Language, readonly string[]>> = {
  python: ["site", "sitecustomize", "os", "stat", "posixpath", "genericpath", "_collections_abc", "_sitebuiltins", "io", "abc", "codecs", "encodings", "encodings.aliases", "encodings.utf_8"],
  ruby: ["rubygems"],
};
