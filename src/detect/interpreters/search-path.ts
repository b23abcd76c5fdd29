import { statSync } from "node:fs";
import { join } from "node:path";
import { runTool } from "../../proc/run-tool.js";
import type { Language } from "./language.js";

/** How each interpreter tells its module search path, and the environment variable that extends it. */
const ASK: Partial<Record<Language, { args: string[]; env?: string; split: (out: string) => string[] }>> = {
  // -I: isolated, so neither the environment nor the working directory adds anything to the path.
  python: { args: ["-I", "-c", "import sys, json; print(json.dumps(sys.path))"], env: "PYTHONPATH", split: (o) => JSON.parse(o) as string[] },
  perl: { args: ["-e", 'print join("\\n", @INC), "\\n"'], env: "PERL5LIB", split: (o) => o.split("\n") },
  ruby: { args: ["--disable-gems", "-e", "puts $LOAD_PATH"], env: "RUBYLIB", split: (o) => o.split("\n") },
  php: { args: ["-r", "echo get_include_path();"], split: (o) => o.split(":") },
};

/** Where Debian's and upstream's Node.js look for packages besides node_modules dirs (module.globalPaths). */
const NODE_GLOBAL = ["/usr/local/lib/node_modules", "/usr/lib/node_modules", "/usr/share/nodejs", "/usr/lib/nodejs", "/usr/lib/x86_64-linux-gnu/nodejs", "/usr/local/lib/node", "/usr/lib/node"];

/**
 * Where each language's code sits on a Debian host, for a process whose search path cannot be asked (its
 * interpreter is not the host's program): the directories its imports are looked up in and a "may have
 * loaded" finding searches. Wider than any one interpreter's path on purpose; "*" matches within one name.
 */
const HOST_ROOTS: Record<Language, readonly string[]> = {
  python: ["/usr/local/lib/python3*/dist-packages", "/usr/lib/python3/dist-packages", "/usr/lib/python3*", "/usr/local/lib/python3*"],
  perl: ["/etc/perl", "/usr/local/lib/*/perl/*", "/usr/local/share/perl/*", "/usr/lib/*/perl5/*", "/usr/share/perl5", "/usr/lib/*/perl-base", "/usr/lib/*/perl/*", "/usr/share/perl/*", "/usr/share/perl*", "/usr/lib/*/perl*"],
  ruby: ["/usr/local/lib/site_ruby/*", "/usr/local/lib/site_ruby", "/usr/lib/ruby/vendor_ruby/*", "/usr/lib/*/ruby/vendor_ruby/*", "/usr/lib/ruby/vendor_ruby", "/usr/lib/ruby/*", "/usr/lib/*/ruby/*", "/usr/lib/ruby", "/usr/share/rubygems-integration"],
  node: [],
  php: ["/usr/share/php"],
  shell: [],
};

/**
 * The standard host roots of `language` (see HOST_ROOTS), globs expanded through `list` (the names of the
 * directories in a container directory), in search order, each once.
 */
export function hostRoots(language: Language, list: (dir: string) => readonly string[]): string[] {
  if (language === "node") return [...NODE_GLOBAL];
  const expand = (pattern: string): string[] => {
    const parts = pattern.split("/").filter((p) => p !== "");
    let dirs = ["/"];
    for (const part of parts) {
      if (!part.includes("*")) {
        dirs = dirs.map((d) => join(d, part));
        continue;
      }
      const re = new RegExp(`^${part.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*")}$`);
      dirs = dirs.flatMap((d) => list(d).filter((n) => re.test(n)).sort().map((n) => join(d, n)));
    }
    return dirs;
  };
  return [...new Set(HOST_ROOTS[language].flatMap(expand))];
}

const cache = new Map<string, { mtimeMs: number; dirs: Promise<string[] | undefined> }>();

/** The environment variable that extends `language`'s search path. */
export function searchPathEnv(language: Language): string | undefined {
  return language === "node" ? "NODE_PATH" : ASK[language]?.env;
}

/**
 * The module search path of an interpreter process: the directories of its extension variable
 * (`PYTHONPATH`, `PERL5LIB`, `RUBYLIB`, `NODE_PATH`; container paths, searched first), then the
 * interpreter's own path, asked of the interpreter (as needrestart does); absolute dirs only. Cached per
 * program until it changes. Undefined when the interpreter cannot be run on the host.
 *
 * Only the HOST's program at that path is run, with a clean environment: never a container's binary, and
 * never the container's variables, which could point the host's interpreter at code a container controls
 * (its delta is a host directory too).
 */
export async function searchPath(language: Language, exe: string, envValue: string | undefined): Promise<string[] | undefined> {
  if (language === "shell") return [];
  const extra = (envValue ?? "").split(":").filter((d) => d.startsWith("/"));
  if (language === "node") return [...extra, ...NODE_GLOBAL];
  const ask = ASK[language];
  const st = statSync(exe, { throwIfNoEntry: false });
  if (ask === undefined || st === undefined || !st.isFile()) return undefined;
  let hit = cache.get(exe);
  if (hit === undefined || hit.mtimeMs !== st.mtimeMs) {
    const env: Record<string, string> = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C" };
    const dirs = runTool(exe, ask.args, { timeoutMs: 5000, env }).result.then((r) => {
      if (r.exitCode !== 0) return undefined;
      try {
        return ask.split(r.stdout).filter((d) => d.startsWith("/"));
      } catch {
        return undefined;
      }
    });
    hit = { mtimeMs: st.mtimeMs, dirs };
    cache.set(exe, hit);
  }
  const own = await hit.dirs;
  return own === undefined ? undefined : [...extra, ...own];
}
