import { PatchrollError } from "../errors/patchroll-error.js";

/** One `key = value` line of an LXC config file, in file order (keys may repeat). */
export interface LxcConfigEntry {
  key: string;
  value: string;
}

/** The layers of an overlay rootfs: lower dirs top first (the last one is the bottom), then the upper dir. */
export interface OverlayRootfs {
  lowerDirs: string[];
  upperDir: string;
}

/**
 * Parses the text of an LXC config file (`lxc.container.conf(5)`): `key = value` lines; blank lines and
 * `#` comments are skipped, as are lines without `=`. Values are trimmed, as LXC does.
 */
export function parseLxcConfig(text: string): LxcConfigEntry[] {
  const entries: LxcConfigEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    entries.push({ key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
  }
  return entries;
}

/** The effective value of `key`: the last occurrence wins, as in LXC. */
export function configValue(entries: readonly LxcConfigEntry[], key: string): string | undefined {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    if (e !== undefined && e.key === key) return e.value;
  }
  return undefined;
}

/** Every value of a repeatable key (`lxc.mount.entry`, `lxc.environment`), in order. */
export function configValues(entries: readonly LxcConfigEntry[], key: string): string[] {
  return entries.filter((e) => e.key === key).map((e) => e.value);
}

/** The rootfs of a config: `lxc.rootfs.path`, or the pre-LXC-2.1 key `lxc.rootfs`. */
export function rootfsValue(entries: readonly LxcConfigEntry[]): string | undefined {
  return configValue(entries, "lxc.rootfs.path") ?? configValue(entries, "lxc.rootfs");
}

/**
 * Reads an overlay rootfs value: `overlayfs:LOWER[:LOWER2...]:UPPER` or `overlay:...`. Lower dirs come top
 * first, as the kernel's `lowerdir=` takes them. Undefined when the value is not an overlay of absolute paths.
 */
export function parseOverlayRootfs(value: string): OverlayRootfs | undefined {
  const m = /^(?:overlayfs|overlay):(.+)$/.exec(value.trim());
  if (m === null || m[1] === undefined) return undefined;
  const parts = m[1].split(":");
  if (parts.length < 2 || parts.some((p) => !p.startsWith("/"))) return undefined;
  const upperDir = parts[parts.length - 1] as string;
  return { lowerDirs: parts.slice(0, -1), upperDir };
}

/** The `lxc.rootfs.path` value for an overlay: `overlayfs:LOWERS...:UPPER`. */
export function renderOverlayRootfs(rootfs: OverlayRootfs): string {
  return `overlayfs:${[...rootfs.lowerDirs, rootfs.upperDir].join(":")}`;
}

/**
 * Renders entries as an LXC config file. A key or value holding a line break (or a key holding `=` or
 * `#`) would smuggle in another config line, so it is refused with `CONTAINER_INVALID`.
 */
export function renderLxcConfig(entries: readonly LxcConfigEntry[], header?: string): string {
  const lines: string[] = [];
  if (header !== undefined) for (const h of header.split("\n")) lines.push(`# ${h}`.trimEnd());
  for (const { key, value } of entries) {
    if (!/^[a-z][a-z0-9_.]*$/i.test(key)) throw new PatchrollError("CONTAINER_INVALID", `LXC config key ${JSON.stringify(key)} is not a valid key (letters, digits, '.', '_').`);
    if (/[\r\n\0]/.test(value)) throw new PatchrollError("CONTAINER_INVALID", `LXC config value for ${key} contains a line break or NUL: ${JSON.stringify(value)}; remove it.`);
    if (value !== value.trim()) throw new PatchrollError("CONTAINER_INVALID", `LXC config value for ${key} has leading or trailing blanks, which LXC would drop: ${JSON.stringify(value)}.`);
    lines.push(`${key} = ${value}`);
  }
  return `${lines.join("\n")}\n`;
}
