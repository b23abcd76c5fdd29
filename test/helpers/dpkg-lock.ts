import { execa } from "execa";

/** The machine-wide lock every test that runs dpkg or apt takes (`flock(1)` semantics). */
export const DPKG_TEST_LOCK = "/run/lock/patchroll-test-dpkg.lock";

let tail: Promise<unknown> = Promise.resolve();

/**
 * Runs `fn` while holding {@link DPKG_TEST_LOCK}: dpkg has one global lock, so tests that install packages
 * must take turns, across vitest's worker processes too. A `flock` child holds the lock until its stdin
 * closes, so the lock is released even when this process dies. Not reentrant: do not nest calls.
 * @param waitSec how long to wait for the lock before failing. Default 600.
 */
export async function withDpkgLock<T>(fn: () => Promise<T>, waitSec = 600): Promise<T> {
  const run = tail.then(() => holdLock(fn, waitSec));
  tail = run.catch(() => {});
  return run;
}

async function holdLock<T>(fn: () => Promise<T>, waitSec: number): Promise<T> {
  const holder = execa("flock", ["-w", String(waitSec), DPKG_TEST_LOCK, "/bin/sh", "-c", "echo locked; exec cat >/dev/null"], {
    stdin: "pipe", stdout: "pipe", stderr: "pipe", reject: false, forceKillAfterDelay: 2000,
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    holder.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("locked")) resolve();
    });
    void holder.then((r) => reject(new Error(`could not take ${DPKG_TEST_LOCK} within ${waitSec} s (flock exited ${String(r.exitCode)}: ${String(r.stderr).trim()})`)));
  });
  try {
    return await fn();
  } finally {
    holder.stdin.end();
    await holder;
  }
}

/**
 * Runs `dpkg ARGS` under {@link withDpkgLock}. dpkg itself never waits for its own lock, and a process
 * outside the tests (an operator's apt, apt-daily) may hold it: a "lock" failure is retried for up to
 * `waitSec` seconds (default 300).
 */
export async function runDpkg(args: readonly string[], waitSec = 300): Promise<{ stdout: string; stderr: string }> {
  return withDpkgLock(async () => {
    const deadline = Date.now() + waitSec * 1000;
    for (;;) {
      const r = await execa("dpkg", args, { reject: false, timeout: 300_000, forceKillAfterDelay: 5000, env: { DEBIAN_FRONTEND: "noninteractive" } });
      if (r.exitCode === 0) return { stdout: String(r.stdout), stderr: String(r.stderr) };
      if (!/lock/i.test(String(r.stderr)) || Date.now() > deadline) {
        throw new Error(`dpkg ${args.join(" ")} failed with exit code ${String(r.exitCode)}: ${String(r.stderr).trim()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });
}
