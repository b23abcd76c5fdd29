import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { HOOKS_DIR } from "../helpers/apt.js";

/**
 * The two forms of the apt hooks that hooks/build.sh lays out under the same names: the compiled hook
 * (the checkout's hooks/, built by `npm run build`) and the sh fallback (built into a scratch dir with
 * `--sh`). The direct-run tests run against both, so that they keep behaving the same.
 */
export interface HookVariant {
  name: "compiled" | "sh";
  dir: string;
  pre: string;
  post: string;
}

export const HOOK_VARIANTS = ["compiled", "sh"] as const;

/** Lays out the hooks of this variant; `cleanup` removes a scratch dir it made. */
export async function hookVariant(name: HookVariant["name"]): Promise<HookVariant & { cleanup: () => void }> {
  let dir = HOOKS_DIR;
  let cleanup = () => {};
  if (name === "sh") {
    dir = mkdtempSync("/var/tmp/patchroll-test-sh-hooks-");
    await execa("sh", [join(HOOKS_DIR, "build.sh"), "--sh", dir]);
    const made = dir;
    cleanup = () => rmSync(made, { recursive: true, force: true });
  }
  return { name, dir, pre: join(dir, "apt-pre-install-pkgs"), post: join(dir, "apt-post-invoke"), cleanup };
}

/** True when PATH is a compiled (ELF) hook, not a script. */
export function isCompiled(path: string): boolean {
  return readFileSync(path).subarray(0, 4).equals(Buffer.from("\x7fELF", "latin1"));
}

/** An apt hook protocol payload with these action lines. */
export function payload(actions: string[], version = 3): string {
  return [`VERSION ${version}`, "APT::Architecture=amd64", "CommandLine::AsString=apt-get%20install%20prdemo", "Dir::Cache=var/cache/apt/", "", ...actions, ""].join("\n");
}

/** Runs a hook directly with the payload on stdin, as apt does with APT_HOOK_INFO_FD=0. */
export function runHook(hook: string, args: string[], input: string, env: Record<string, string> = { APT_HOOK_INFO_FD: "0" }) {
  return execa(hook, args, { input, reject: false, timeout: 30_000, forceKillAfterDelay: 2_000, env });
}

/** The hook's own stderr lines. */
export function patchrollLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.startsWith("patchroll:"));
}
