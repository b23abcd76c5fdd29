import { join } from "node:path";

/**
 * Layout of the old package files the apt pre-install hook captures before dpkg replaces them
 * (the capture mode of hooks/apt-pre-install-pkgs.sh writes it, for the compiled hook too; pins read it):
 *
 *   CAPTURE_DIR/<name>_<version>_<arch>/root/<path of each file>   hardlinks of the old files
 *   CAPTURE_DIR/<name>_<version>_<arch>/files.list                  the package's dpkg .list at that time
 *   CAPTURE_DIR/<name>_<version>_<arch>/manifest                    what, when, which apt run
 *
 * The hook builds it in a `.tmp-` dir and renames it into place, so a capture that exists is whole. An
 * epoch colon in the version is written `%3a`, as dpkg names .deb files. CAPTURE_DIR defaults to
 * `<stateDir>/capture`.
 */
export function captureDir(stateDir: string): string {
  return join(stateDir, "capture");
}

/** Directory of one captured package version. */
export function captureOf(stateDir: string, name: string, version: string, arch: string): string {
  return join(captureDir(stateDir), `${name}_${version.replaceAll(":", "%3a")}_${arch}`);
}

/** The captured files of one package version, laid out as on the host root. */
export function captureRoot(stateDir: string, name: string, version: string, arch: string): string {
  return join(captureOf(stateDir, name, version, arch), "root");
}
