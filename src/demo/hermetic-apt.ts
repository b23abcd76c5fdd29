import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import type { LocalRepo } from "./package-fixture.js";

/** The repository's hooks and apt snippet, as a host would install them. */
export const HOOKS_DIR = join(projectRoot(), "hooks");
export const APT_SNIPPET = join(projectRoot(), "deploy", "apt", "50patchroll");

/**
 * The checkout (or installation) this module runs from: the nearest directory up with hooks/ in it. The
 * hooks apt runs there (apt-pre-install-pkgs, apt-post-invoke) are built by hooks/build.sh (`npm run build`).
 */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "hooks", "hook-lib.sh")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export interface HermeticAptOptions {
  /** Scratch dir for this apt's config and state; default a new dir under /var/tmp. Removed by cleanup(). */
  root?: string;
  /** The only package source this apt sees. */
  repo: LocalRepo;
  /** Configure patchroll's hooks (deploy/apt/50patchroll with these paths). */
  hooks?: { spoolDir: string; captureDir?: string; hooksDir?: string };
  /** Wraps every apt and dpkg call, e.g. in a lock that keeps concurrent tests from racing for dpkg. */
  lock?: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** What an apt-get or unattended-upgrade run gave: exit code, stdout and stderr. */
export interface AptResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

const APT_TIMEOUT_MS = 180_000;

/**
 * Real apt-get (and unattended-upgrade) against ONE local repository and nothing else: its own
 * APT_CONFIG, sources, package lists, caches, apt state and logs, so the machine's package lists and
 * apt state stay as they were (docs/platform.md, "Pitfall: private sources replace the machine's lists"). dpkg itself and its status are the machine's: the
 * packages are really installed, so `cleanup()` purges what was installed, and tests pass a `lock` that
 * keeps two of them from driving dpkg at once. The machine's apt.conf.d is NOT read by apt-get here (no
 * needrestart etc.); unattended-upgrade reads it anyway (python-apt reads /etc/apt/apt.conf.d for rootdir
 * "/"), which adds the machine's own hooks to its runs.
 */
export class HermeticApt {
  readonly root: string;
  /** APT_CONFIG with the hooks (when asked for) and the unattended-upgrades settings. */
  readonly aptConfig: string;
  /** The same configuration without patchroll's hooks, used for cleanup. */
  readonly plainConfig: string;
  /** Where unattended-upgrade writes its two logs. */
  readonly uuLogDir: string;
  private readonly installed = new Set<string>();
  private readonly lock: <T>(fn: () => Promise<T>) => Promise<T>;

  constructor(readonly options: HermeticAptOptions) {
    this.lock = options.lock ?? ((fn) => fn());
    this.root = options.root ?? mkdtempSync("/var/tmp/patchroll-apt-");
    const r = this.root;
    for (const dir of ["parts", "parts-plain", "sources.list.d", "preferences.d", "lists/partial", "cache/archives/partial", "state", "log", "uu-log"]) {
      mkdirSync(join(r, dir), { recursive: true });
    }
    this.uuLogDir = join(r, "uu-log");
    writeFileSync(join(r, "sources.list"), `${options.repo.sourcesLine}\n`);
    const base = (parts: string): string =>
      [
        `Dir::Etc::main "/dev/null";`,
        `Dir::Etc::parts "${parts}";`,
        `Dir::Etc::sourcelist "${r}/sources.list";`,
        `Dir::Etc::sourceparts "${r}/sources.list.d";`,
        `Dir::Etc::preferences "${r}/preferences";`,
        `Dir::Etc::preferencesparts "${r}/preferences.d";`,
        `Dir::State "${r}/state/";`,
        `Dir::State::Lists "${r}/lists/";`,
        `Dir::State::status "/var/lib/dpkg/status";`,
        `Dir::Cache "${r}/cache/";`,
        `Dir::Log "${r}/log/";`,
        `APT::Sandbox::User "root";`,
        `APT::Get::Assume-Yes "true";`,
        `DPkg::Lock::Timeout "120";`,
        `Dpkg::Options { "--force-confdef"; "--force-confold"; };`,
        "",
      ].join("\n");
    this.aptConfig = join(r, "apt.conf");
    this.plainConfig = join(r, "apt-plain.conf");
    writeFileSync(this.aptConfig, base(join(r, "parts")));
    writeFileSync(this.plainConfig, base(join(r, "parts-plain")));
    const { origin, label } = options.repo.identity;
    writeFileSync(
      join(r, "parts", "60unattended-upgrades"),
      [
        "#clear Unattended-Upgrade::Origins-Pattern;",
        "#clear Unattended-Upgrade::Allowed-Origins;",
        `Unattended-Upgrade::Origins-Pattern { "origin=${origin},label=${label}"; };`,
        `Unattended-Upgrade::LogDir "${this.uuLogDir}/";`,
        "",
      ].join("\n"),
    );
    if (options.hooks !== undefined) writeFileSync(join(r, "parts", "50patchroll"), hookSnippet(options.hooks));
  }

  private env(config: string): Record<string, string> {
    return { APT_CONFIG: config, DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C", APT_LISTCHANGES_FRONTEND: "none" };
  }

  private async run(file: string, args: string[], config = this.aptConfig): Promise<AptResult> {
    const result = await this.lock(() =>
      execa(file, args, { env: this.env(config), reject: false, timeout: APT_TIMEOUT_MS, forceKillAfterDelay: 5_000, stdin: "ignore" }),
    );
    return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
  }

  /** `apt-get update` of this apt's one source; throws when it fails. */
  async update(): Promise<void> {
    const result = await this.run("apt-get", ["update", "-q"]);
    if (result.exitCode !== 0) throw new Error(`apt-get update failed (${result.exitCode}): ${result.stderr}`);
  }

  /** `apt-get install` of `name` or `name=version` (downgrades allowed). Returns apt-get's result. */
  async install(specs: string[]): Promise<AptResult> {
    for (const spec of specs) this.installed.add(spec.split("=")[0] ?? spec);
    return this.run("apt-get", ["install", "-y", "--allow-downgrades", ...specs]);
  }

  /** `apt-get purge` of these packages, with the hooks configured. */
  async purge(names: string[]): Promise<AptResult> {
    return this.run("apt-get", ["purge", "-y", ...names]);
  }

  /** A real `unattended-upgrade` run against this apt's repository, taken as a security origin. */
  async unattendedUpgrade(extraArgs: string[] = []): Promise<AptResult> {
    return this.run("unattended-upgrade", ["-v", ...extraArgs]);
  }

  /** Purges every package this apt installed (without hooks) and removes its state. */
  async cleanup(): Promise<void> {
    const names = [...this.installed];
    try {
      if (names.length > 0) {
        const result = await this.run("apt-get", ["purge", "-y", ...names], this.plainConfig);
        if (result.exitCode !== 0) {
          await this.lock(() => execa("dpkg", ["--purge", ...names], { reject: false, timeout: APT_TIMEOUT_MS, forceKillAfterDelay: 5_000 }));
        }
      }
    } finally {
      rmSync(this.root, { recursive: true, force: true });
    }
  }
}

/** deploy/apt/50patchroll with this test's hooks dir, spool dir and capture dir (or no capture). */
export function hookSnippet(hooks: { spoolDir: string; captureDir?: string; hooksDir?: string }): string {
  let text = readFileSync(APT_SNIPPET, "utf8").replaceAll("/usr/lib/patchroll/hooks", hooks.hooksDir ?? HOOKS_DIR).replaceAll("/var/spool/patchroll", hooks.spoolDir);
  text = hooks.captureDir === undefined ? text.replace(/ --capture \S+/, "") : text.replaceAll("/var/lib/patchroll/capture", hooks.captureDir);
  return text;
}
