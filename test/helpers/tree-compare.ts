import { createHash } from "node:crypto";
import { appendFile, chmod, chown, lchown, link, lstat, lutimes, mkdir, mkdtemp, open, readdir, readlink, rename, rm, symlink, truncate, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BigIntStats } from "node:fs";
import { execa } from "execa";
import { afterAll, beforeAll } from "vitest";

/**
 * Compares two directory trees byte for byte and attribute for attribute, the way an overlay would see
 * them: type, permission bits (setuid too), uid, gid, mtime (ns), size (not for dirs, whose size depends on
 * their history), rdev of devices (whiteouts are char 0/0), symlink target, file content (bytes), every
 * xattr (trusted.*, security.*, user.*, ACLs), hardlink groups inside the tree and allocated blocks of
 * regular files (sparseness). Names are handled as bytes, so non-UTF-8 names compare too.
 * Returns one line per difference; empty means identical. The two roots are compared as "." too.
 */
export async function compareTrees(a: string, b: string): Promise<string[]> {
  const [ta, tb] = await Promise.all([scanTree(a), scanTree(b)]);
  const keys = [...new Set([...ta.entries.keys(), ...tb.entries.keys()])].sort();
  const sameSizeFiles: Array<[string, Buffer, Buffer]> = [];
  for (const key of keys) {
    const [ea, eb] = [ta.entries.get(key), tb.entries.get(key)];
    const regular = ea !== undefined && eb !== undefined && (ea.st.mode & S_IFMT) === S_IFREG && (eb.st.mode & S_IFMT) === S_IFREG;
    if (regular && ea.st.size === eb.st.size) sameSizeFiles.push([key, ea.abs, eb.abs]);
  }
  const differing = await differingContents(sameSizeFiles);
  const diffs: string[] = [];
  for (const key of keys) {
    const ea = ta.entries.get(key);
    const eb = tb.entries.get(key);
    const name = display(key);
    if (ea === undefined || eb === undefined) {
      diffs.push(`${name}: only in ${ea === undefined ? b : a}`);
      continue;
    }
    for (const [what, va, vb] of facts(ea, eb, ta, tb)) {
      if (va !== vb) diffs.push(`${name}: ${what} ${va} != ${vb}`);
    }
    if (differing.has(key)) diffs.push(`${name}: content differs`);
  }
  return diffs;
}

interface Entry {
  key: string;
  abs: Buffer;
  st: BigIntStats;
  target?: string;
}

interface Tree {
  entries: Map<string, Entry>;
  /** inode -> keys sharing it (hardlink groups). */
  inodes: Map<bigint, string[]>;
  xattrs: Map<string, string>;
}

const S_IFMT = 0o170000n;
const S_IFREG = 0o100000n;
const S_IFDIR = 0o040000n;

function facts(ea: Entry, eb: Entry, ta: Tree, tb: Tree): Array<[string, string, string]> {
  const type = ea.st.mode & S_IFMT;
  const out: Array<[string, string, string]> = [
    ["type", oct(ea.st.mode & S_IFMT), oct(eb.st.mode & S_IFMT)],
    ["mode", oct(ea.st.mode & 0o7777n), oct(eb.st.mode & 0o7777n)],
    ["uid", String(ea.st.uid), String(eb.st.uid)],
    ["gid", String(ea.st.gid), String(eb.st.gid)],
    ["mtime", String(ea.st.mtimeNs), String(eb.st.mtimeNs)],
    ["rdev", String(ea.st.rdev), String(eb.st.rdev)],
    ["symlink", ea.target ?? "-", eb.target ?? "-"],
    ["xattrs", ta.xattrs.get(ea.key) ?? "{}", tb.xattrs.get(eb.key) ?? "{}"],
    ["hardlinks", linkGroup(ea, ta), linkGroup(eb, tb)],
  ];
  if (type !== S_IFDIR) out.push(["size", String(ea.st.size), String(eb.st.size)]);
  if (type === S_IFREG) out.push(["blocks", ...allocated(ea.st.blocks, eb.st.blocks)]);
  return out;
}

/**
 * Allocated blocks of two files, as compared: equal when they differ by no more than the filesystem's own
 * bookkeeping. ext4 counts the blocks of a file's extent tree in st_blocks, and how many it needs depends on
 * how fragmented the file was written (a busy disk: one more 4 KiB index block for a 64 MiB file), not on
 * its content. A lost hole differs by far more: the fixtures' holes are mebibytes.
 */
function allocated(a: bigint, b: bigint): [string, string] {
  const slack = 8n + (a > b ? a : b) / 1024n;
  const diff = a > b ? a - b : b - a;
  return diff <= slack ? [String(a), String(a)] : [String(a), String(b)];
}

function linkGroup(e: Entry, t: Tree): string {
  if ((e.st.mode & S_IFMT) === S_IFDIR) return "-";
  const group = t.inodes.get(e.st.ino) ?? [];
  return group.length > 1 ? group.map(display).join(" ") : "-";
}

function oct(n: bigint): string {
  return n.toString(8);
}

/** Keys are the relative path's bytes as latin1 ("." for the root); shown with non-printables escaped. */
function display(key: string): string {
  return [...Buffer.from(key, "latin1")].map((c) => (c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, "0")}`)).join("");
}

async function scanTree(root: string): Promise<Tree> {
  const entries = new Map<string, Entry>();
  const inodes = new Map<bigint, string[]>();
  const rootBuf = Buffer.from(root);
  const visit = async (abs: Buffer, rel: Buffer): Promise<void> => {
    const st = await lstat(abs, { bigint: true });
    const key = rel.length === 0 ? "." : rel.toString("latin1");
    const entry: Entry = { key, abs, st };
    const type = st.mode & S_IFMT;
    if (type === 0o120000n) entry.target = (await readlink(abs, { encoding: "buffer" })).toString("latin1");
    entries.set(key, entry);
    if (type !== S_IFDIR) inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), key].sort());
    if (type === S_IFDIR) {
      for (const name of await readdir(abs, { encoding: "buffer" })) {
        const slash = Buffer.from("/");
        await visit(Buffer.concat([abs, slash, name]), rel.length === 0 ? name : Buffer.concat([rel, slash, name]));
      }
    }
  };
  await visit(rootBuf, Buffer.alloc(0));
  return { entries, inodes, xattrs: await readAllXattrs(root) };
}

const CHUNK = 1 << 20;

/** Compares the contents of file pairs, 8 at a time, each worker reusing its own two buffers. */
async function differingContents(pairs: ReadonlyArray<[string, Buffer, Buffer]>): Promise<Set<string>> {
  const differing = new Set<string>();
  let next = 0;
  const worker = async (): Promise<void> => {
    const [ba, bb] = [Buffer.alloc(CHUNK), Buffer.alloc(CHUNK)];
    while (next < pairs.length) {
      const [key, a, b] = pairs[next++] as [string, Buffer, Buffer];
      if (!(await compareFiles(a, b, ba, bb))) differing.add(key);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return differing;
}

/** Byte-for-byte comparison of two files of the same size (holes read as zeros). */
async function compareFiles(a: Buffer, b: Buffer, ba: Buffer, bb: Buffer): Promise<boolean> {
  const size = CHUNK;
  const [fa, fb] = await Promise.all([open(a, "r"), open(b, "r")]);
  try {
    for (;;) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, size, null), fb.read(bb, 0, size, null)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

// The attr package (getfattr/setfattr) is not installed on these machines; python3 is, and its
// os.listxattr/getxattr/setxattr are the same syscalls. Paths travel as bytes, so any name works.
const DUMP_XATTRS = `
import json, os, sys
root = os.fsencode(sys.argv[1])
out = {}
def visit(p, rel):
    names = sorted(os.listxattr(p, follow_symlinks=False))
    if names:
        out[rel.hex()] = json.dumps({n: os.getxattr(p, n, follow_symlinks=False).hex() for n in names})
visit(root, b"")
for d, dirs, files in os.walk(root):
    for n in dirs + files:
        p = os.path.join(d, n)
        visit(p, os.path.relpath(p, root))
json.dump(out, sys.stdout)
`;

/** Every xattr of every entry of a tree: relative path key (as in compareTrees) -> JSON of name -> hex value. */
export async function readAllXattrs(root: string): Promise<Map<string, string>> {
  const { stdout } = await execa("python3", ["-c", DUMP_XATTRS, root], { timeout: 120_000, forceKillAfterDelay: 2_000 });
  const raw = JSON.parse(stdout) as Record<string, string>;
  return new Map(Object.entries(raw).map(([hex, v]) => [hex === "" ? "." : Buffer.from(hex, "hex").toString("latin1"), v]));
}

/** Sets an xattr on `path` itself (never following a symlink), like `setfattr -h -n NAME -v VALUE`. */
export async function setXattr(path: string | Buffer, name: string, value: string | Buffer): Promise<void> {
  const script = "import os, sys; os.setxattr(bytes.fromhex(sys.argv[1]), sys.argv[2], bytes.fromhex(sys.argv[3]), follow_symlinks=False)";
  await execa("python3", ["-c", script, Buffer.from(path).toString("hex"), name, Buffer.from(value).toString("hex")], { timeout: 10_000, forceKillAfterDelay: 2_000 });
}

/** One xattr of `path` itself, or undefined when it has none of that name. */
export async function getXattr(path: string | Buffer, name: string): Promise<Buffer | undefined> {
  const script = "import os, sys\ntry: sys.stdout.write(os.getxattr(bytes.fromhex(sys.argv[1]), sys.argv[2], follow_symlinks=False).hex())\nexcept OSError: sys.stdout.write('-')";
  const { stdout } = await execa("python3", ["-c", script, Buffer.from(path).toString("hex"), name], { timeout: 10_000, forceKillAfterDelay: 2_000 });
  return stdout === "-" ? undefined : Buffer.from(stdout, "hex");
}

/** Deterministic pseudo-random bytes (sha256 in counter mode), so two builds of a fixture match. */
export function patternBytes(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  for (let off = 0, i = 0; off < size; off += 32, i += 1) {
    createHash("sha256").update(`${seed}:${i}`).digest().copy(out, off);
  }
  return out;
}

/**
 * Builds, in the new dir `dir`, an overlay upper dir with everything a rollback must keep: whiteouts
 * (char 0/0, one owned by uid 1000, one with an xattr), opaque dirs (one empty), a redirect dir, user and
 * security xattrs (empty and binary values), a hardlink group of three with setuid, setgid and sticky
 * bits, owners other than root (symlinks too), a 100 MiB sparse file with two bits of data, symlinks
 * (relative, absolute, dangling), a fifo, empty dirs and odd names (space, newline, backslash, UTF-8 and
 * non-UTF-8 bytes). Every mtime is fixed, so two builds compare identical.
 */
export async function buildOverlayDelta(dir: string): Promise<void> {
  const p = (rel: string): string => `${dir}/${rel}`;
  await mkdir(dir);
  for (const d of ["etc/opaque.d", "etc/sub", "usr/lib/renamed", "home/alice", "bin", "sbin", "tmp", "var/empty", "var/empty-opaque", "lib", "run", "odd"]) {
    await mkdir(p(d), { recursive: true });
  }
  await execa("mknod", [p("etc/shadow"), "c", "0", "0"]);
  await execa("mknod", [p("etc/sub/gone"), "c", "0", "0"]);
  await chown(p("etc/sub/gone"), 1000, 1000);
  await execa("mknod", [p("etc/sub/gone-too"), "c", "0", "0"]);
  await setXattr(p("etc/sub/gone-too"), "trusted.overlay.marker", "1");
  await setXattr(p("etc/opaque.d"), "trusted.overlay.opaque", "y");
  await writeFile(p("etc/opaque.d/new.conf"), "only this file is visible\n");
  await setXattr(p("var/empty-opaque"), "trusted.overlay.opaque", "y");
  await setXattr(p("usr/lib/renamed"), "trusted.overlay.redirect", "/usr/lib/original");
  await writeFile(p("usr/lib/renamed/libx.so"), patternBytes(70_000, "libx"));

  await writeFile(p("home/alice/notes.txt"), "alice's notes\n", { mode: 0o600 });
  await setXattr(p("home/alice/notes.txt"), "user.note", "remember");
  await setXattr(p("home/alice/notes.txt"), "user.empty", "");
  await setXattr(p("home/alice/notes.txt"), "user.binary", Buffer.from([0, 1, 2, 0xff, 0]));
  await chown(p("home/alice/notes.txt"), 1000, 1000);
  await chown(p("home/alice"), 1000, 1000);
  await chmod(p("home/alice"), 0o700);
  await setXattr(dir, "user.root", "delta-root");

  await writeFile(p("bin/tool"), patternBytes(12_345, "tool"));
  await link(p("bin/tool"), p("bin/tool-link"));
  await link(p("bin/tool"), p("sbin/tool"));
  await chown(p("bin/tool"), 0, 0);
  await chmod(p("bin/tool"), 0o4755);
  await writeFile(p("bin/sgid"), "#!/bin/sh\n");
  await chown(p("bin/sgid"), 0, 50);
  await chmod(p("bin/sgid"), 0o2755);
  await writeFile(p("bin/capable"), "cap\n");
  await chown(p("bin/capable"), 1000, 1000);
  // VFS_CAP_REVISION_2, cap_net_bind_service permitted + effective; set after chown, which clears it.
  await setXattr(p("bin/capable"), "security.capability", Buffer.from("0100000200040000000000000000000000000000", "hex"));
  await chmod(p("tmp"), 0o1777);

  await writeFile(p("var/data.bin"), patternBytes(1 << 20, "data"));
  await writeFile(p("var/sparse.img"), "");
  await truncate(p("var/sparse.img"), 100 * 1024 * 1024);
  const fh = await open(p("var/sparse.img"), "r+");
  await fh.write(Buffer.from("head"), 0, 4, 0);
  await fh.write(Buffer.from("middle"), 0, 6, 50 * 1024 * 1024);
  await fh.close();

  await symlink("libfoo.so.1", p("lib/libfoo.so"));
  await writeFile(p("lib/libfoo.so.1"), patternBytes(4096, "libfoo"));
  await symlink("/nowhere/at/all", p("lib/dangling"));
  await symlink("/etc/passwd", p("lib/absolute"));
  await lchown(p("lib/absolute"), 1000, 1001);
  await execa("mkfifo", ["-m", "0620", p("run/initctl")]);

  await writeFile(p("odd/with space"), "space\n");
  await writeFile(p("odd/new\nline"), "newline\n");
  await writeFile(p("odd/back\\slash"), "backslash\n");
  await writeFile(p("odd/ünïcødé"), "utf-8\n");
  await writeFile(Buffer.concat([Buffer.from(`${dir}/odd/latin1-`), Buffer.from([0xe9, 0xff, 0xfe])]), "not utf-8\n");
  await setTimesDeep(Buffer.from(dir), 1_700_000_000);
}

/** Sets atime and mtime of every entry below and including `dir`, children before their dir. */
async function setTimesDeep(dir: Buffer, base: number): Promise<void> {
  let n = 0;
  const visit = async (path: Buffer): Promise<void> => {
    if ((await lstat(path)).isDirectory()) {
      for (const name of (await readdir(path, { encoding: "buffer" })).sort(Buffer.compare)) {
        await visit(Buffer.concat([path, Buffer.from("/"), name]));
      }
    }
    n += 1;
    const t = base + n * 1000 + 0.123456;
    await lutimes(path, t, t);
  };
  await visit(dir);
}

/** Everything a container (or a bad patch) could do to its delta. */
export async function modifyHeavily(d: string): Promise<void> {
  await unlink(join(d, "etc/shadow"));
  await writeFile(join(d, "etc/shadow"), "root:$6$copied-up:19000::::::\n");
  await setXattr(join(d, "etc/opaque.d"), "trusted.overlay.opaque", "n");
  await setXattr(join(d, "usr/lib/renamed"), "trusted.overlay.redirect", "/usr/lib/elsewhere");
  await setXattr(d, "user.root", "changed");
  await setXattr(join(d, "var/empty"), "trusted.overlay.opaque", "y");
  await unlink(join(d, "bin/tool-link"));
  await appendFile(join(d, "bin/tool"), "patched");
  await chmod(join(d, "bin/tool"), 0o755);
  await chown(join(d, "bin/sgid"), 1000, 1000);
  await chmod(join(d, "tmp"), 0o755);
  const fh = await open(join(d, "var/sparse.img"), "r+");
  await fh.write(Buffer.alloc(4 << 20, 7), 0, 4 << 20, 10 << 20);
  await fh.close();
  await unlink(join(d, "lib/libfoo.so"));
  await symlink("libfoo.so.2", join(d, "lib/libfoo.so"));
  await unlink(join(d, "lib/dangling"));
  await lchown(join(d, "lib/absolute"), 0, 0);
  await unlink(join(d, "run/initctl"));
  await mkdir(join(d, "run/initctl"));
  await rename(join(d, "odd"), join(d, "odd2"));
  await rm(join(d, "home/alice"), { recursive: true });
  await rm(join(d, "var/empty-opaque"), { recursive: true });
  await mkdir(join(d, "var/lib/dpkg"), { recursive: true });
  await writeFile(join(d, "var/lib/dpkg/status"), "Package: shadowing\n");
  await execa("mknod", [join(d, "usr/lib/renamed/libx.so.old"), "c", "0", "0"]);
}

/**
 * A scratch dir under /var/tmp for the tests of one `describe` (made before them, removed after them) and a
 * way to make containers in it: `<root>/<name>/delta0` holds the overlay fixture ({@link buildOverlayDelta}),
 * `<root>/<name>/snapshots` is where its snapshots go.
 */
export function fixtureContainers(prefix: string): { root: () => string; container: (name: string) => Promise<{ dir: string; delta: string; snaps: string }> } {
  let root = "";
  beforeAll(async () => {
    root = await mkdtemp(`/var/tmp/${prefix}`);
  });
  afterAll(async () => {
    if (root !== "") await rm(root, { recursive: true, force: true });
  });
  const container = async (name: string): Promise<{ dir: string; delta: string; snaps: string }> => {
    const dir = join(root, name);
    await mkdir(dir);
    const delta = join(dir, "delta0");
    await buildOverlayDelta(delta);
    return { dir, delta, snaps: join(dir, "snapshots") };
  };
  return { root: () => root, container };
}

/**
 * For tests of a container swapping a dir of its delta for a symlink: `<delta>/d/sub` with the xattr
 * user.whose = "the container's", and `<outside>/sub` (what the symlink will name) with user.whose = "SECRET".
 */
export async function makeSwapBait(delta: string, outside: string): Promise<void> {
  await mkdir(join(delta, "d/sub"), { recursive: true });
  await mkdir(join(outside, "sub"), { recursive: true });
  await setXattr(join(delta, "d/sub"), "user.whose", "the container's");
  await setXattr(join(outside, "sub"), "user.whose", "SECRET");
}
