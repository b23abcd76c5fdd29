import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { tempDir } from "../tail/log-helpers.js";

const ORIGIN = "patchroll-test";
/** The Python that /usr/bin/unattended-upgrade runs with (its shebang), not whatever python3 is on PATH. */
const PYTHON = "/usr/bin/python3";
const run = (cmd: string, args: string[], env: Record<string, string> = {}) =>
  execa(cmd, args, { env: { LANG: "C.UTF-8", LC_ALL: "C.UTF-8", ...env }, timeout: 120_000, forceKillAfterDelay: 5_000, reject: false });

/** Builds `NAME_VERSION_ARCH.deb` into `outDir`; with `postinst`, that script goes in. */
export async function buildDeb(workDir: string, outDir: string, name: string, version: string, arch = "all", postinst?: string): Promise<string> {
  const d = join(workDir, `build-${name}-${version}`);
  mkdirSync(join(d, "DEBIAN"), { recursive: true });
  mkdirSync(join(d, "usr/share", name), { recursive: true });
  writeFileSync(join(d, "usr/share", name, "version"), `${version}\n`);
  writeFileSync(join(d, "DEBIAN/control"), `Package: ${name}\nVersion: ${version}\nArchitecture: ${arch}\nMaintainer: patchroll tests <tests@example.invalid>\nDescription: patchroll test package\n`);
  if (postinst !== undefined) {
    writeFileSync(join(d, "DEBIAN/postinst"), `#!/bin/sh\n${postinst}\n`);
    chmodSync(join(d, "DEBIAN/postinst"), 0o755);
  }
  const deb = join(outDir, `${name}_${version}_${arch}.deb`);
  const r = await run("dpkg-deb", ["-b", d, deb]);
  if (r.exitCode !== 0) throw new Error(`dpkg-deb failed: ${r.stderr}`);
  return deb;
}

/** Indexes a flat `file:` repository whose Release says Origin=Label=patchroll-test. */
export async function indexRepo(repo: string): Promise<void> {
  const packages = await execa("apt-ftparchive", ["packages", "."], { cwd: repo, timeout: 60_000 });
  writeFileSync(join(repo, "Packages"), packages.stdout + "\n");
  const release = await execa("apt-ftparchive", ["-o", `APT::FTPArchive::Release::Origin=${ORIGIN}`, "-o", `APT::FTPArchive::Release::Label=${ORIGIN}`, "-o", `APT::FTPArchive::Release::Suite=${ORIGIN}`, "release", "."], { cwd: repo, timeout: 60_000 });
  writeFileSync(join(repo, "Release"), release.stdout + "\n");
}

/**
 * A private root for unattended-upgrades' `main(options, rootdir)` (how its own test suite runs it):
 * own dpkg database, own apt lists and config, logs under ROOT/var/log. ROOT/usr/bin/dpkg execs the
 * real dpkg with `--root` and `--log`, so packages really get unpacked and configured, inside ROOT.
 * `APT_CONFIG` points the start-up config parts at an empty dir, so the machine's hooks stay out.
 */
export class RootdirSandbox {
  readonly dir: string;
  readonly root: string;
  readonly repo: string;
  readonly logDir: string;
  readonly dpkgLog: string;
  readonly cleanup: () => void;

  private constructor() {
    const t = tempDir("uu-root");
    this.dir = t.dir;
    this.cleanup = t.cleanup;
    this.root = join(t.dir, "root");
    this.repo = join(t.dir, "repo");
    this.logDir = join(this.root, "var/log/unattended-upgrades");
    this.dpkgLog = join(this.root, "var/log/dpkg.log");
  }

  static async create(config: string[] = []): Promise<RootdirSandbox> {
    const s = new RootdirSandbox();
    for (const d of ["etc/apt/apt.conf.d", "etc/apt/preferences.d", "etc/apt/sources.list.d", "var/lib/dpkg/updates", "var/lib/dpkg/info", "var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/lib/unattended-upgrades", "var/log/unattended-upgrades", "var/run", "usr/bin"]) {
      mkdirSync(join(s.root, d), { recursive: true });
    }
    mkdirSync(s.repo);
    mkdirSync(join(s.dir, "empty-parts"));
    writeFileSync(join(s.root, "var/lib/dpkg/status"), "");
    writeFileSync(join(s.root, "usr/bin/dpkg"), `#!/bin/sh\nexec /usr/bin/dpkg --root=${s.root} --log=${s.dpkgLog} --force-not-root --force-script-chrootless "$@"\n`);
    chmodSync(join(s.root, "usr/bin/dpkg"), 0o755);
    writeFileSync(join(s.root, "etc/apt/sources.list"), `deb [trusted=yes] file:${s.repo} ./\n`);
    writeFileSync(join(s.root, "etc/apt/apt.conf"), [`Unattended-Upgrade::Origins-Pattern { "origin=${ORIGIN},label=${ORIGIN}"; };`, ...config, ""].join("\n"));
    writeFileSync(join(s.dir, "init.conf"), `Dir::Etc::parts "${join(s.dir, "empty-parts")}";\n`);
    writeFileSync(
      join(s.dir, "run-uu.py"),
      [
        "import importlib.machinery, importlib.util, sys",
        'loader = importlib.machinery.SourceFileLoader("uu", "/usr/bin/unattended-upgrade")',
        'uu = importlib.util.module_from_spec(importlib.util.spec_from_loader("uu", loader))',
        "loader.exec_module(uu)",
        "opts = uu.Options()",
        "opts.minimal_upgrade_steps = True",
        "opts.verbose = True",
        "sys.exit(uu.main(opts, rootdir=sys.argv[1]))",
        "",
      ].join("\n"),
    );
    return s;
  }

  /** Installs a package straight into the sandbox's dpkg database (the "old version"). */
  async install(name: string, version: string): Promise<void> {
    const deb = await buildDeb(this.dir, this.dir, name, version);
    const r = await run(join(this.root, "usr/bin/dpkg"), ["-i", deb]);
    if (r.exitCode !== 0) throw new Error(`dpkg -i ${name} failed: ${r.stderr}`);
  }

  /** Publishes a package version in the sandbox repository and refreshes the sandbox's lists. */
  async publish(name: string, version: string, postinst?: string): Promise<void> {
    await buildDeb(this.dir, this.repo, name, version, "all", postinst);
    await indexRepo(this.repo);
    const r = await run("apt-get", ["-o", `Dir=${this.root}/`, "-o", `Dir::State::status=${this.root}/var/lib/dpkg/status`, "update"], { APT_CONFIG: join(this.dir, "init.conf") });
    if (r.exitCode !== 0) throw new Error(`apt-get update failed: ${r.stderr}`);
  }

  /** Runs unattended-upgrades once on the sandbox, for real (not a dry run). */
  async unattendedUpgrade(): Promise<{ exitCode: number | undefined; output: string }> {
    return whenUuLockFree(async () => {
      const r = await run(PYTHON, [join(this.dir, "run-uu.py"), this.root], { APT_CONFIG: join(this.dir, "init.conf") });
      return { exitCode: r.exitCode, output: `${r.stdout}\n${r.stderr}` };
    });
  }
}

/**
 * `unattended-upgrade --dry-run -d`, the real CLI, with an `APT_CONFIG` of its own: own sources list,
 * lists, cache, state and log dir, and a stand-in newer version of an installed package in a local
 * repository as its only candidate. The machine's installed packages are read (u-u always reads
 * /var/lib/dpkg/status) but never changed: a dry run runs no dpkg. `failPreInvoke` adds a
 * `DPkg::Pre-Invoke` that fails, which u-u reports as a failed installation.
 */
export async function dryRunCli(dir: string, options: { failPreInvoke?: boolean } = {}): Promise<{ logDir: string; exitCode: number | undefined; output: string; pkg: string }> {
  const target = await pickInstalled();
  const repo = join(dir, "repo");
  const logDir = join(dir, "log");
  for (const d of [repo, logDir, join(dir, "state/lists/partial"), join(dir, "cache/archives/partial"), join(dir, "aptlog"), join(dir, "parts"), join(dir, "prefs")]) mkdirSync(d, { recursive: true });
  await buildDeb(dir, repo, target.name, "99.0-patchroll1", target.arch);
  await indexRepo(repo);
  writeFileSync(join(dir, "sources.list"), `deb [trusted=yes] file:${repo} ./\n`);
  const conf = [
    `Dir::Etc::parts "${join(dir, "parts")}";`,
    `Dir::Etc::sourcelist "${join(dir, "sources.list")}";`,
    `Dir::Etc::sourceparts "${join(dir, "none.d")}";`,
    `Dir::Etc::preferencesparts "${join(dir, "prefs")}";`,
    `Dir::State "${join(dir, "state")}/";`,
    `Dir::Cache "${join(dir, "cache")}/";`,
    `Dir::Log "${join(dir, "aptlog")}/";`,
    `Unattended-Upgrade::Origins-Pattern { "origin=${ORIGIN},label=${ORIGIN}"; };`,
    `Unattended-Upgrade::LogDir "${logDir}/";`,
    ...(options.failPreInvoke ? ['DPkg::Pre-Invoke { "/bin/false"; };'] : []),
    "",
  ].join("\n");
  writeFileSync(join(dir, "apt.conf"), conf);
  const env = { APT_CONFIG: join(dir, "apt.conf") };
  const up = await run("apt-get", ["update"], env);
  if (up.exitCode !== 0) throw new Error(`apt-get update failed: ${up.stderr}`);
  // u-u writes its progress to Dir/var/run/unattended-upgrades.progress, and Dir is always "/" for the
  // CLI: put back what was there.
  const progress = "/var/run/unattended-upgrades.progress";
  const before = existsSync(progress) ? readFileSync(progress) : undefined;
  const r = await whenUuLockFree(async () => {
    try {
      const out = await run("unattended-upgrade", ["--dry-run", "-d"], env);
      return { exitCode: out.exitCode, output: `${out.stdout}\n${out.stderr}` };
    } finally {
      if (before === undefined) rmSync(progress, { force: true });
      else writeFileSync(progress, before);
    }
  });
  return { logDir, ...r, pkg: target.name };
}

async function pickInstalled(): Promise<{ name: string; arch: string }> {
  for (const name of ["zip", "jq", "busybox", "base-files"]) {
    const r = await execa("dpkg-query", ["-W", "-f", "${db:Status-Abbrev} ${Architecture}", name], { reject: false, timeout: 10_000 });
    const m = /^ii\s+(\S+)/.exec(r.stdout);
    if (r.exitCode === 0 && m !== null) return { name, arch: m[1]! };
  }
  throw new Error("no suitable installed package to stand in for an upgrade");
}

/**
 * unattended-upgrades allows one run per machine (/run/unattended-upgrades.lock); other tests on this
 * machine run it too, not always under our dpkg test lock. Try again while the lock is taken (bounded).
 */
async function whenUuLockFree<T extends { output: string }>(attempt: () => Promise<T>, tries = 240): Promise<T> {
  for (let i = 1; ; i++) {
    const r = await attempt();
    if (i >= tries || !/Lock file is already taken|Lock could not be acquired/.test(r.output)) return r;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
