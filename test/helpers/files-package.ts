import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { execa } from "execa";

/** A package of plain files (scripts, modules, data), built with the real dpkg-deb. */
export interface FilesPackageSpec {
  /** Where the .deb is written. */
  dir: string;
  name: string;
  version: string;
  /** Absolute path -> content; a path under a bin/ dir is made executable. */
  files: Record<string, string>;
}

/** Builds `NAME_VERSION_all.deb` in `spec.dir` and returns its path. */
export async function buildFilesPackage(spec: FilesPackageSpec): Promise<string> {
  const root = mkdtempSync(join(spec.dir, `.root-${spec.name}-`));
  try {
    mkdirSync(join(root, "DEBIAN"));
    writeFileSync(join(root, "DEBIAN/control"), `Package: ${spec.name}\nVersion: ${spec.version}\nArchitecture: all\nMaintainer: patchroll tests <root@localhost>\nDescription: patchroll test package of plain files\n`);
    for (const [path, content] of Object.entries(spec.files)) {
      const file = join(root, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
      chmodSync(file, /\/bin\//.test(path) ? 0o755 : 0o644);
    }
    const deb = join(spec.dir, `${spec.name}_${spec.version}_all.deb`);
    await execa("dpkg-deb", ["--root-owner-group", "-Zgzip", "-z1", "-b", root, deb], { timeout: 60_000, forceKillAfterDelay: 2000 });
    return deb;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
