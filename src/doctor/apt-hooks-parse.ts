/** patchroll's hooks as apt's effective configuration lists them (`apt-config dump`). */
export interface AptHookConfig {
  /** `DPkg::Pre-Install-Pkgs` commands. */
  preInstall: string[];
  /** `DPkg::Post-Invoke` commands. */
  postInvoke: string[];
  /** `DPkg::Tools::Options::CMD::Version` per command (first word). */
  versions: Map<string, string>;
}

/** Undoes apt-config dump's quoting: `\"` and `\\`. */
const unquote = (s: string) => s.replace(/\\(.)/g, "$1");

/**
 * Parses `apt-config dump` output (lines `Key::Sub "value";`, list items as `Key:: "value";`) for the keys
 * the hooks need (pure). Tools options keys hold the command path, which contains '::'-free slashes.
 */
export function parseAptConfigDump(text: string): AptHookConfig {
  const out: AptHookConfig = { preInstall: [], postInvoke: [], versions: new Map() };
  for (const line of text.split("\n")) {
    const m = /^(\S+) "((?:[^"\\]|\\.)*)";$/.exec(line.trim());
    if (m === null) continue;
    const key = m[1]!.toLowerCase();
    const value = unquote(m[2]!);
    if (key === "dpkg::pre-install-pkgs::" && value !== "") out.preInstall.push(value);
    else if (key === "dpkg::post-invoke::" && value !== "") out.postInvoke.push(value);
    else if (key.startsWith("dpkg::tools::options::") && key.endsWith("::version")) {
      out.versions.set(m[1]!.slice("DPkg::Tools::Options::".length, -"::Version".length), value);
    }
  }
  return out;
}

/** The hook command patchroll installs, split into its program and `--spool` dir. */
export interface HookCommand {
  command: string;
  program: string;
  spool?: string;
}

/** patchroll's command among a hook list: the one whose program is named `NAME` (e.g. apt-post-invoke). */
export function findHook(commands: readonly string[], name: string): HookCommand | undefined {
  for (const command of commands) {
    // `test ! -x HOOK || HOOK ARGS` (the guarded Post-Invoke of deploy/apt/50patchroll) runs HOOK ARGS.
    const guarded = /^\s*test\s+!\s+-x\s+\S+\s*\|\|\s*(.*)$/.exec(command);
    const words = (guarded?.[1] ?? command).trim().split(/\s+/);
    const program = words[0] ?? "";
    if (!program.endsWith(`/${name}`) && program !== name) continue;
    const i = words.indexOf("--spool");
    return { command, program, ...(i >= 0 && words[i + 1] !== undefined ? { spool: words[i + 1] } : {}) };
  }
  return undefined;
}
