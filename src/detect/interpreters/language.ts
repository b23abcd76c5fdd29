import { basename } from "node:path";

/** The interpreters whose loaded code a scan follows. */
export type Language = "python" | "perl" | "ruby" | "node" | "php" | "shell";

/** What a process was told to run, from its argv (pure). */
export interface Invocation {
  language: Language;
  /** The script file, as given (relative to the process's working directory when not absolute). */
  script?: string;
  /** Code given on the command line (`python -c`, `perl -e`, `sh -c` ...). */
  inline?: string;
  /** Modules named on the command line (`python -m`, `perl -M`, `ruby -r`, `node -r` ...). */
  modules: string[];
  /** Search directories named on the command line (`perl -I`, `ruby -I`). */
  includeDirs: string[];
  /** It reads its code from stdin or a terminal, or runs many scripts (php-fpm): what it loaded is unknown. */
  unknownCode?: string;
}

const SHELLS = new Set(["sh", "dash", "bash", "ash", "ksh", "mksh", "zsh", "posh", "yash"]);

/** The language of a process from its program (`/proc/PID/exe`) and argv; undefined for anything else. */
export function languageOf(exe: string, argv: readonly string[]): Language | undefined {
  const name = basename(exe);
  if (/^python\d*(\.\d+)?[dm]?$/.test(name)) return "python";
  if (/^perl(5[\d.]*)?$/.test(name)) return "perl";
  if (/^ruby[\d.]*$/.test(name)) return "ruby";
  if (/^(node|nodejs)$/.test(name)) return "node";
  if (/^php[\d.]*(-cgi|-fpm[\d.]*)?$/.test(name)) return "php";
  if (SHELLS.has(name)) return "shell";
  // busybox runs as a shell when called as sh or ash (its applet is chosen by argv[0] or argv[1]).
  if (name === "busybox") {
    const applet = basename(argv[0] ?? "") === "busybox" ? argv[1] : basename(argv[0] ?? "");
    if (applet === "sh" || applet === "ash") return "shell";
  }
  return undefined;
}

/**
 * Options of each interpreter that take a value: the value is the rest of the argument or the next one.
 * `code` and `module` options end option parsing where the interpreter does (python -c, -m).
 */
const VALUE_OPTIONS: Record<Language, { code: string; module: string; include: string; other: string; stop: string }> = {
  python: { code: "c", module: "m", include: "", other: "WXQ", stop: "cm" },
  perl: { code: "eE", module: "Mm", include: "I", other: "", stop: "" },
  ruby: { code: "e", module: "r", include: "I", other: "CEFKTx", stop: "" },
  node: { code: "ep", module: "r", include: "", other: "C", stop: "" },
  php: { code: "r", module: "", include: "", other: "cdfzt", stop: "" },
  shell: { code: "c", module: "", include: "", other: "oO", stop: "c" },
};

/** Perl flags whose value is glued to them and never a separate argument (`-l0`, `-i.bak`, `-0777`). */
const PERL_GLUED = "0lidDxCF";

/** Long options of node that take a separate value. */
const NODE_LONG = new Set(["--require", "--import", "--eval", "--print", "--loader", "--experimental-loader", "--conditions", "--input-type", "--title", "--env-file"]);

/** Reads an interpreter's argv: its script, inline code, modules and include dirs (pure). */
export function parseInvocation(language: Language, argv: readonly string[]): Invocation {
  const inv: Invocation = { language, modules: [], includeDirs: [] };
  const opts = VALUE_OPTIONS[language];
  let args = argv.slice(1);
  if (language === "shell" && basename(argv[0] ?? "") === "busybox") args = args.slice(1);
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--") {
      const next = args[i + 1];
      if (next !== undefined && inv.inline === undefined) inv.script = next;
      break;
    }
    if (language === "shell" && a.startsWith("+")) continue;
    if (a === "-" || !a.startsWith("-")) {
      if (a === "-") inv.unknownCode = "it reads its code from stdin";
      else if (inv.inline === undefined) inv.script = a;
      break;
    }
    if (a.startsWith("--")) {
      const [name, value] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
      if (language !== "node" || !NODE_LONG.has(name)) continue;
      const v = value ?? args[++i];
      if (v === undefined) break;
      if (name === "--eval" || name === "--print") inv.inline = `${inv.inline ?? ""}${v}\n`;
      else if (name === "--require" || name === "--import") inv.modules.push(v);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j] as string;
      if (language === "perl" && PERL_GLUED.includes(c)) break;
      const kind = opts.code.includes(c) ? "code" : opts.module.includes(c) ? "module" : opts.include.includes(c) ? "include" : opts.other.includes(c) ? "other" : undefined;
      if (kind === undefined) continue;
      const rest = a.slice(j + 1);
      const value = rest !== "" ? rest : args[++i];
      if (value !== undefined) {
        if (kind === "code") inv.inline = `${inv.inline ?? ""}${value}\n`;
        else if (kind === "module") inv.modules.push(language === "perl" ? (value.replace(/^-/, "").split(/[= ]/)[0] as string) : value);
        else if (kind === "include") inv.includeDirs.push(value);
        if (language === "php" && c === "f") inv.script = value;
      }
      if (opts.stop.includes(c)) return finish(inv, language);
      break;
    }
  }
  return finish(inv, language);
}

/** Marks an invocation whose code is nowhere to be read. */
function finish(inv: Invocation, language: Language): Invocation {
  if (inv.script === undefined && inv.inline === undefined && inv.modules.length === 0 && inv.unknownCode === undefined) {
    if (language === "php") inv.unknownCode = "it runs no single script (a PHP server or FastCGI process manager)";
    else if (language !== "shell") inv.unknownCode = "it has no script on its command line (interactive, or code from stdin)";
  }
  return inv;
}
