// Copies the production closure of a checkout's node_modules into an installation:
//   node prod-modules.mjs SOURCE_DIR TARGET_NODE_MODULES_DIR
// SOURCE_DIR holds package.json, package-lock.json (lockfileVersion 2 or 3) and an installed node_modules
// (`npm ci`). The closure starts at package.json's `dependencies` and `optionalDependencies` and follows
// each package's dependencies, optional dependencies and non-optional peers, resolved the way Node does
// (nearest node_modules first). Dev dependencies, optional peers (typescript, via valibot) and optional
// packages for other platforms (absent from disk) are left out. No network, no npm: the lock file decides.
// Prints "N packages, M files" on success; exits 1 with a message naming the missing package otherwise.
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const [source, target] = process.argv.slice(2);
if (source === undefined || target === undefined) {
  process.stderr.write("usage: prod-modules.mjs SOURCE_DIR TARGET_NODE_MODULES_DIR\n");
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(join(source, "package.json"), "utf8"));
const lock = JSON.parse(readFileSync(join(source, "package-lock.json"), "utf8"));
const packages = lock.packages ?? {};
if (typeof lock.lockfileVersion !== "number" || lock.lockfileVersion < 2) {
  process.stderr.write(`prod-modules: ${source}/package-lock.json is lockfileVersion ${lock.lockfileVersion}; need 2 or 3 (npm >= 7)\n`);
  process.exit(1);
}

/** Where `name` required from the package at `from` ("" is the root) resolves to, as a lock file key. */
function resolve(from, name) {
  let base = from;
  for (;;) {
    const candidate = `${base === "" ? "" : `${base}/`}node_modules/${name}`;
    if (packages[candidate] !== undefined) return candidate;
    if (base === "") return undefined;
    const up = base.lastIndexOf("/node_modules/");
    base = up < 0 ? "" : base.slice(0, up);
  }
}

const wanted = new Set();
const queue = [["", { ...manifest.dependencies }, { ...manifest.optionalDependencies }]];
while (queue.length > 0) {
  const [from, required, optional] = queue.shift();
  for (const [names, isOptional] of [[Object.keys(required), false], [Object.keys(optional), true]]) {
    for (const name of names) {
      const key = resolve(from, name);
      if (key === undefined || !existsSync(join(source, key))) {
        if (isOptional) continue;
        process.stderr.write(`prod-modules: ${name} (needed by ${from || "patchroll"}) is not installed in ${source}/node_modules; run npm ci there\n`);
        process.exit(1);
      }
      if (wanted.has(key)) continue;
      wanted.add(key);
      const pkg = packages[key];
      const peers = Object.keys(pkg.peerDependencies ?? {}).filter((p) => pkg.peerDependenciesMeta?.[p]?.optional !== true);
      const req = { ...pkg.dependencies };
      for (const p of peers) req[p] = "*";
      queue.push([key, req, { ...pkg.optionalDependencies }]);
    }
  }
}

// Each package is copied without its own node_modules; nested packages of the closure come separately.
let files = 0;
for (const key of [...wanted].sort()) {
  const from = join(source, key);
  const to = join(target, key.slice("node_modules/".length));
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from)) {
    if (entry === "node_modules") continue;
    cpSync(join(from, entry), join(to, entry), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  }
  files += countFiles(to);
}
process.stdout.write(`${wanted.size} packages, ${files} files\n`);

function countFiles(dir) {
  let n = 0;
  for (const entry of readdirSync(dir)) {
    if (entry === "node_modules") continue;
    const p = join(dir, entry);
    n += statSync(p).isDirectory() ? countFiles(p) : 1;
  }
  return n;
}
