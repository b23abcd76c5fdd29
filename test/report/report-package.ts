import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { execa } from "execa";
import { dpkgArchitecture } from "../../src/demo/package-fixture.js";

const tool = { timeout: 60_000, forceKillAfterDelay: 2000 } as const;

/** One changelog entry of the test package: its version and its change lines. */
export interface Entry {
  version: string;
  changes: string[];
}

export interface ReportPackageSpec {
  dir: string;
  name: string;
  version: string;
  /** `hang`: the library's constructor never returns, so a service that loads it never answers. */
  mode: "good" | "hang";
  /** Entries, newest first; the package's own version should be the first. */
  changelog: Entry[];
}

/** A Debian changelog (deb-changelog(5)) from entries, newest first; dates one day apart. */
export function changelogText(name: string, entries: readonly Entry[]): string {
  return entries
    .map((e, i) => {
      const day = String(22 - i).padStart(2, "0");
      return `${name} (${e.version}) test-security; urgency=high\n\n${e.changes.map((c) => `  ${c}`).join("\n")}\n\n -- patchroll tests <tests@patchroll.invalid>  Sun, ${day} Nov 2026 12:00:00 +0000\n`;
    })
    .join("\n");
}

/**
 * Builds a test .deb: `/usr/lib/NAME/libNAME.so.1` (good, or hanging at load, which a health check sees as a
 * service that never answers: a deterministic failure, unlike a crash racing lxc-start's state poll) and
 * `/usr/share/doc/NAME/changelog.Debian.gz`, where the report reads the CVEs from.
 */
export async function buildReportPackage(spec: ReportPackageSpec): Promise<string> {
  const { dir, name, version } = spec;
  const arch = await dpkgArchitecture();
  const scratch = await mkdtemp(join(dir, `.build-${name}-`));
  try {
    const root = join(scratch, "root");
    const lib = join(root, "usr", "lib", name);
    const doc = join(root, "usr", "share", "doc", name);
    for (const d of [join(root, "DEBIAN"), lib, doc]) await mkdir(d, { recursive: true });
    const ident = name.replace(/[^A-Za-z0-9]/g, "_");
    const hang = spec.mode === "hang" ? "#include <unistd.h>\n__attribute__((constructor)) static void hang_at_load(void) { for (;;) pause(); }\n" : "";
    await writeFile(join(scratch, "lib.c"), `${hang}const char *${ident}_version(void) { return ${JSON.stringify(version)}; }\n`);
    await execa("cc", ["-shared", "-fPIC", "-O1", `-Wl,-soname,lib${name}.so.1`, "-o", join(lib, `lib${name}.so.1`), join(scratch, "lib.c")], tool);
    await writeFile(join(doc, "changelog.Debian.gz"), gzipSync(changelogText(name, spec.changelog)));
    await writeFile(join(root, "DEBIAN", "control"), [`Package: ${name}`, `Version: ${version}`, `Architecture: ${arch}`, "Maintainer: patchroll tests <tests@patchroll.invalid>", "Section: libs", "Priority: optional", `Description: patchroll report test library ${version}`, " Built on the fly by test/report.", ""].join("\n"));
    const deb = join(dir, `${name}_${version}_${arch}.deb`);
    await execa("dpkg-deb", ["--root-owner-group", "-Zgzip", "-z1", "-b", root, deb], tool);
    return deb;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
