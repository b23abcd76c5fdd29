import { Argument, type Command, type Option } from "commander";
import type { CliContext } from "../context.js";

/** What a flag's value completes to: fixed choices, a file, a directory, or anything. */
type ValueKind = { choices: readonly string[] } | "file" | "dir" | "any";

interface Level {
  /** Space-separated command path ("" for the top). */
  path: string;
  subcommands: string[];
  flags: string[];
  values: Map<string, ValueKind>;
}

const FILE_FLAGS = new Set(["--config", "--apt-config"]);
const DIR_FLAGS = new Set(["--state-dir", "--lxc-path"]);

function valueKind(o: Option): ValueKind | undefined {
  if (!o.required && !o.optional) return undefined;
  if (o.argChoices !== undefined) return { choices: o.argChoices };
  if (o.long !== undefined && FILE_FLAGS.has(o.long)) return "file";
  if (o.long !== undefined && DIR_FLAGS.has(o.long)) return "dir";
  return "any";
}

/** Every command level of the program with its subcommands, flags and flag values (pure). */
export function completionLevels(program: Command): Level[] {
  const out: Level[] = [];
  const visit = (cmd: Command, path: string) => {
    const values = new Map<string, ValueKind>();
    const flags: string[] = [];
    // `patchroll jobs --state failed` runs the default subcommand (`jobs list`): its flags count here too.
    const defaultName = (cmd as unknown as { _defaultCommandName?: string })._defaultCommandName;
    const fallback = cmd.commands.find((c) => c.name() === defaultName);
    for (const o of [...cmd.options, ...(fallback?.options ?? [])]) {
      for (const f of [o.short, o.long]) {
        if (f === undefined) continue;
        flags.push(f);
        const kind = valueKind(o);
        if (kind !== undefined) values.set(f, kind);
      }
    }
    out.push({ path, subcommands: cmd.commands.map((c) => c.name()), flags: [...flags, "--help"], values });
    for (const c of cmd.commands) visit(c, path === "" ? c.name() : `${path} ${c.name()}`);
  };
  visit(program, "");
  return out;
}

const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** A bash completion script for `program` (pure): commands, subcommands, flags, and flag values. */
export function bashCompletion(program: Command): string {
  const levels = completionLevels(program);
  const global = levels[0]!;
  const cases = (body: (l: Level) => string) => levels.map((l) => `    ${q(l.path)}) ${body(l)} ;;`).join("\n");
  const valueCases = levels
    .flatMap((l) => [...l.values].map(([flag, kind]) => `    ${q(`${l.path}|${flag}`)}) ${typeof kind === "object" ? `echo ${q(`choices ${kind.choices.join(" ")}`)}` : `echo ${kind}`} ;;`))
    .join("\n");
  return `# bash completion for patchroll. Install: patchroll completion bash > /etc/bash_completion.d/patchroll
_patchroll_subs() {
  case "$1" in
${cases((l) => `echo ${q(l.subcommands.join(" "))}`)}
  esac
}
_patchroll_flags() {
  case "$1" in
${cases((l) => `echo ${q([...new Set([...l.flags, ...global.flags])].join(" "))}`)}
  esac
}
_patchroll_value() {
  case "$1|$2" in
${valueCases}
    *) case "|$2" in
${[...global.values].map(([flag, kind]) => `        ${q(`|${flag}`)}) ${typeof kind === "object" ? `echo ${q(`choices ${kind.choices.join(" ")}`)}` : `echo ${kind}`} ;;`).join("\n")}
       esac ;;
  esac
}
_patchroll() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} path= i w kind
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    if [[ $w == -* ]]; then
      [[ -n $(_patchroll_value "$path" "$w") ]] && ((i++))
      continue
    fi
    if [[ " $(_patchroll_subs "$path") " == *" $w "* ]]; then path=\${path:+$path }$w; fi
  done
  kind=$(_patchroll_value "$path" "$prev")
  case "$kind" in
    choices*) COMPREPLY=($(compgen -W "\${kind#choices }" -- "$cur")); return ;;
    file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    any) COMPREPLY=(); return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_patchroll_flags "$path")" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(_patchroll_subs "$path")" -- "$cur"))
  fi
}
complete -F _patchroll patchroll
`;
}

export function registerCompletion(program: Command, ctx: CliContext): void {
  program
    .command("completion")
    .description("print a shell completion script: patchroll completion bash > /etc/bash_completion.d/patchroll")
    .addArgument(new Argument("[shell]", "the shell").choices(["bash"]).default("bash"))
    .action(() => {
      ctx.output.out(bashCompletion(program));
    });
}
