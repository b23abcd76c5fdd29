import { readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { parseImports, type SourceImports } from "./imports.js";
import type { Invocation } from "./language.js";
import { type FileExists, isBuiltin, resolveModule, STARTUP_MODULES } from "./resolve.js";

/** The container's files: where the file it serves at a path is on the host, if it serves one. */
export type Locate = (path: string) => string | undefined;

/** What a process loaded or can load, as far as its sources tell. */
export interface LoadedCode {
  /** Its script (container path), when it has one the container serves. */
  script?: string;
  /** Container paths of the files, script first. */
  files: string[];
  /** Why the list may be incomplete (then the process "may have loaded" more), if it may. */
  undecidable?: string;
  /** Where code it may have loaded lives: its search path and its script's directory. */
  roots: string[];
}

/** Most processes import far fewer files; beyond this the list is cut and called incomplete. */
const MAX_FILES = 4000;

const MAX_SOURCE_BYTES = 8 << 20;

const parsed = new Map<string, { ino: number; mtimeMs: number; size: number; imports: SourceImports }>();

/** Parses a host file's imports once per content (inode, mtime and size): a host's processes share most modules. */
function importsOf(hostPath: string, language: Invocation["language"]): SourceImports | undefined {
  try {
    const st = statSync(hostPath);
    const hit = parsed.get(hostPath);
    if (hit !== undefined && hit.ino === st.ino && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.imports;
    // A source that large is no module anyone wrote; reading it would only let a container slow scans down.
    const imports = st.size > MAX_SOURCE_BYTES ? { modules: [], files: [], dynamic: `it is larger than ${MAX_SOURCE_BYTES} bytes and was not read` } : parseImports(language, readFileSync(hostPath, "utf8"));
    parsed.set(hostPath, { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, imports });
    return imports;
  } catch {
    return undefined;
  }
}

/**
 * Follows a process's code from its script (or inline code, or `-m` module) through every import the
 * sources name, resolved on the interpreter's search path as the interpreter would: needrestart's
 * approach (script, the modules it imports, the interpreter's own path), applied through the container's
 * layers. Python's start-up modules count as loaded by every Python process.
 */
export function loadedCode(inv: Invocation, cwd: string, searchDirs: readonly string[], locate: Locate): LoadedCode {
  const exists: FileExists = (p) => locate(p) !== undefined;
  const script = inv.script === undefined ? undefined : isAbsolute(inv.script) ? inv.script : join(cwd, inv.script);
  // Where the code the process was started with sits: its script, or its working directory for inline code.
  const main = script ?? join(cwd, "-");
  const dirs = [...inv.includeDirs, ...(script !== undefined && inv.language === "python" ? [dirname(script)] : []), ...(inv.language === "shell" || inv.language === "php" ? [cwd] : []), ...searchDirs];
  const files: string[] = [];
  const seen = new Set<string>();
  let undecidable = inv.unknownCode;
  const queue: { name: string; from: string; file?: boolean }[] = [];
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    files.push(path);
  };
  const follow = (imports: SourceImports, from: string, what: string) => {
    if (from === main) {
      if (imports.dynamic !== undefined) undecidable ??= `${what}: ${imports.dynamic}`;
      // Search dirs the main code adds itself (`use lib`, `sys.path.insert`) come first.
      dirs.unshift(...(imports.dirs ?? []).map((d) => (isAbsolute(d) ? d : join(dirname(main), d))));
    }
    for (const m of imports.modules) queue.push({ name: m, from });
    for (const f of imports.files) queue.push({ name: f, from, file: true });
  };
  if (script !== undefined) {
    if (exists(script)) visit(script);
    else undecidable ??= `its script ${script} cannot be found in the container`;
  }
  for (const m of [...(STARTUP_MODULES[inv.language] ?? []), ...inv.modules]) queue.push({ name: m, from: main });
  if (inv.inline !== undefined) follow(parseImports(inv.language, inv.inline), main, "its command-line code");
  for (let i = 0; i < files.length || queue.length > 0; ) {
    if (files.length > MAX_FILES) {
      undecidable ??= `it imports more than ${MAX_FILES} files; the rest was not followed`;
      break;
    }
    if (i < files.length) {
      const path = files[i++] as string;
      const host = locate(path);
      // Extension libraries are machine code the maps check covers, not sources to read.
      const imports = host === undefined || path.endsWith(".so") ? undefined : importsOf(host, inv.language);
      if (imports !== undefined) follow(imports, path, path === script ? `its script ${script}` : path);
      continue;
    }
    const next = queue.shift() as { name: string; from: string; file?: boolean };
    const found = resolveModule(inv.language, next.name, next.from, next.file === true && inv.language !== "perl" && inv.language !== "shell" ? [dirname(next.from), ...dirs] : dirs, exists);
    // What its own code names and cannot be found was loaded from somewhere this scan does not know (a
    // gem, a path set at run time). Python's misses are built-in and extension modules (mapped, so seen).
    if (found.length === 0 && next.from === main && inv.language !== "python" && !isBuiltin(inv.language, next.name) && !(STARTUP_MODULES[inv.language] ?? []).includes(next.name)) {
      undecidable ??= `its code loads ${next.name}, which is not on its search path`;
    }
    for (const f of found) visit(f);
  }
  const roots = [...new Set([...dirs, dirname(main)])];
  return { ...(script !== undefined && seen.has(script) ? { script } : {}), files, roots, ...(undecidable !== undefined ? { undecidable } : {}) };
}
