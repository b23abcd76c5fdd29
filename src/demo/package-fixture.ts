import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { gzipSync } from "node:zlib";
import { execa } from "execa";

/** Bounds for the build tools (cc, dpkg-deb, apt-ftparchive): generous, they take milliseconds here. */
const TOOL_TIMEOUT_MS = 60_000;
const toolOptions = { timeout: TOOL_TIMEOUT_MS, forceKillAfterDelay: 2_000 } as const;

export interface DemoPackageSpec {
  /** Where the .deb is written (a scratch dir is made inside it and removed). */
  dir: string;
  /** Debian package name, also the library name: `/usr/lib/NAME/libNAME.so.1`. */
  name: string;
  /** Debian version, e.g. `1.0` or `1.1`. */
  version: string;
  /** A broken version's library makes every process that loads it exit 42 at load time. */
  broken?: boolean;
  /**
   * Earlier versions and what each fixed, newest first, for the package's changelog.Debian.gz (the report
   * reads the CVE ids in it). The version being built gets an entry naming `cves`.
   */
  history?: { version: string; cves?: string[] }[];
  /** CVE ids this version fixes, named in its changelog entry. */
  cves?: string[];
}

/** A Debian changelog: one entry per version, newest first, in the format dpkg-parsechangelog reads. */
function changelog(name: string, entries: { version: string; cves?: string[] }[]): string {
  return entries
    .map((e, i) =>
      [
        `${name} (${e.version}) demo-security; urgency=${e.cves?.length ? "high" : "medium"}`,
        "",
        e.cves?.length ? `  * Security fix: ${e.cves.join(", ")}.` : i === entries.length - 1 ? "  * Initial release." : "  * New upstream release.",
        "",
        ` -- patchroll demo <demo@patchroll.invalid>  Mon, ${String(1 + (entries.length - i)).padStart(2, "0")} Nov 2026 00:00:00 +0000`,
        "",
      ].join("\n"),
    )
    .join("\n");
}

/** Where the demo library of package `name` lives once installed. */
export function demoLibraryPath(name: string): string {
  return `/usr/lib/${name}/lib${name}.so.1`;
}

/** Where the demo package `name` records its version text once installed. */
export function demoVersionPath(name: string): string {
  return `/usr/share/${name}/version`;
}

/** The host's dpkg architecture (`amd64`, ...): the demo library is compiled code. */
export async function dpkgArchitecture(): Promise<string> {
  const { stdout } = await execa("dpkg", ["--print-architecture"], toolOptions);
  return stdout.trim();
}

/**
 * C source of the demo library. A good build exports `NAME_version()`; a broken build also has a
 * constructor that prints why and `_exit(42)`s, so any process that maps it dies at load, which is what a
 * bad security update does to the services of every container.
 */
function librarySource(name: string, version: string, broken: boolean): string {
  const ident = name.replace(/[^A-Za-z0-9]/g, "_");
  const versionLiteral = JSON.stringify(version);
  const ctor = broken
    ? `__attribute__((constructor)) static void patchroll_demo_broken(void) {
  static const char msg[] = "lib${name}.so.1 ${version.replace(/[^A-Za-z0-9.+~:-]/g, "")}: broken build, exiting 42 at load\\n";
  (void)!write(2, msg, sizeof msg - 1);
  _exit(42);
}`
    : "";
  return `#include <unistd.h>
const char *${ident}_version(void) { return ${versionLiteral}; }
${ctor}
`;
}

function controlFile(name: string, version: string, arch: string, broken: boolean): string {
  return [
    `Package: ${name}`,
    `Version: ${version}`,
    `Architecture: ${arch}`,
    "Maintainer: patchroll demo <demo@patchroll.invalid>",
    "Section: libs",
    "Priority: optional",
    `Description: patchroll demo library ${version}${broken ? " (broken: exits 42 at load)" : ""}`,
    " A shared library for patchroll's demo and tests; built on the fly.",
    "",
  ].join("\n");
}

/**
 * Builds a demo .deb with cc and dpkg-deb: `/usr/lib/NAME/libNAME.so.1` (good, or broken: `_exit(42)` at
 * load) and `/usr/share/NAME/version` holding the version text. Returns the path of the .deb, named
 * `NAME_VERSION_ARCH.deb` inside `dir`.
 */
export async function buildDemoPackage(spec: DemoPackageSpec): Promise<string> {
  const { dir, name, version } = spec;
  const broken = spec.broken ?? false;
  const arch = await dpkgArchitecture();
  await mkdir(dir, { recursive: true });
  const scratch = await mkdtemp(join(dir, `.build-${name}-`));
  try {
    const root = join(scratch, "root");
    const libDir = join(root, "usr", "lib", name);
    const shareDir = join(root, "usr", "share", name);
    await mkdir(join(root, "DEBIAN"), { recursive: true });
    await mkdir(libDir, { recursive: true });
    await mkdir(shareDir, { recursive: true });
    const src = join(scratch, "lib.c");
    await writeFile(src, librarySource(name, version, broken));
    await execa("cc", ["-shared", "-fPIC", "-O1", "-Wl,-soname,lib" + name + ".so.1", "-o", join(libDir, `lib${name}.so.1`), src], toolOptions);
    await writeFile(join(shareDir, "version"), `${version}\n`);
    const docDir = join(root, "usr", "share", "doc", name);
    await mkdir(docDir, { recursive: true });
    const entries = [{ version, ...(spec.cves !== undefined ? { cves: spec.cves } : {}) }, ...(spec.history ?? [])];
    await writeFile(join(docDir, "changelog.Debian.gz"), gzipSync(changelog(name, entries), { level: 9 }));
    await writeFile(join(root, "DEBIAN", "control"), controlFile(name, version, arch, broken));
    const deb = join(dir, `${name}_${version.replace(/:/g, "%3a")}_${arch}.deb`);
    await execa("dpkg-deb", ["--root-owner-group", "-Zgzip", "-z1", "-b", root, deb], toolOptions);
    return deb;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** What the repository's Release file says about itself; unattended-upgrades matches on these. */
export interface RepoIdentity {
  origin: string;
  label: string;
  suite: string;
  codename: string;
}

/**
 * A flat local apt repository (`deb [trusted=yes] file:/DIR ./`), indexed with apt-ftparchive. Give it a
 * security-looking identity and unattended-upgrades treats it as a security origin.
 */
export class LocalRepo {
  constructor(
    readonly dir: string,
    readonly identity: RepoIdentity,
  ) {}

  /** The one-line sources.list entry for this repository. */
  get sourcesLine(): string {
    return `deb [trusted=yes] file:${this.dir} ./`;
  }

  /** Copies a .deb into the repository; call `publish()` afterwards. Returns its path inside the repo. */
  async add(deb: string): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const target = join(this.dir, basename(deb));
    await copyFile(deb, target);
    return target;
  }

  /** Removes the repository's copy of a .deb by file name; call `publish()` afterwards. */
  async remove(debFileName: string): Promise<void> {
    await rm(join(this.dir, basename(debFileName)), { force: true });
  }

  /** The .deb files currently in the repository. */
  async debs(): Promise<string[]> {
    return (await readdir(this.dir)).filter((f) => f.endsWith(".deb")).sort();
  }

  /** Writes `Packages` and `Release` (with Origin, Label, Suite, Codename) for the current .debs. */
  async publish(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const packages = await execa("apt-ftparchive", ["packages", "."], { ...toolOptions, cwd: this.dir });
    await writeFile(join(this.dir, "Packages"), packages.stdout + "\n");
    await rm(join(this.dir, "Release"), { force: true });
    const { origin, label, suite, codename } = this.identity;
    const release = await execa(
      "apt-ftparchive",
      [
        "-o", `APT::FTPArchive::Release::Origin=${origin}`,
        "-o", `APT::FTPArchive::Release::Label=${label}`,
        "-o", `APT::FTPArchive::Release::Suite=${suite}`,
        "-o", `APT::FTPArchive::Release::Codename=${codename}`,
        "release", ".",
      ],
      { ...toolOptions, cwd: this.dir },
    );
    await writeFile(join(this.dir, "Release"), release.stdout + "\n");
  }
}
