import { execFileSync } from "node:child_process";
import { execa } from "execa";

/**
 * The C programs (hooks/patchroll-hook.c, native/prspawn.c, native/prcopy.c) built with AddressSanitizer (and its leak
 * check) and UndefinedBehaviorSanitizer, for tests that feed them random and hostile input: a memory error,
 * a leak or undefined behaviour that a static -O2 build survives by luck shows up as a report on stderr.
 * Not static (the sanitizers' runtimes are shared libraries: libasan8 and libubsan1, which gcc-12 depends
 * on), and into a directory of the test's own, so the build the tests of behaviour use is not touched.
 */

/** True where a C compiler is; the sanitizer tests need one (CI has gcc: deploy/bootstrap.sh). */
export const HAVE_CC = (() => {
  try {
    execFileSync("sh", ["-c", "command -v cc"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/**
 * Compiles SOURCE into OUT with the sanitizers, warnings as errors as in the real builds: AddressSanitizer
 * and UBSan, or ThreadSanitizer (which excludes ASan) for a threaded program (native/prcopy.c).
 */
export async function buildSanitized(source: string, out: string, sanitizers: "address,undefined" | "thread" = "address,undefined"): Promise<void> {
  const threads = sanitizers === "thread" || source.endsWith("prcopy.c") ? ["-pthread"] : [];
  await execa("cc", [`-fsanitize=${sanitizers}`, "-fno-omit-frame-pointer", "-g", "-O1", ...threads, "-Wall", "-Wextra", "-Werror", "-o", out, source]);
}

/**
 * The environment a sanitized program runs with: every report stops it with an exit status of its own
 * (86 ASan and LeakSanitizer, 87 UBSan) besides the text on stderr, so neither can go unnoticed.
 */
export const SANITIZER_ENV: Readonly<Record<string, string>> = {
  ASAN_OPTIONS: "detect_leaks=1:halt_on_error=1:exitcode=86:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1",
  UBSAN_OPTIONS: "halt_on_error=1:print_stacktrace=1:exitcode=87",
  LSAN_OPTIONS: "exitcode=86",
};

/** ThreadSanitizer's settings: a data race or a lock misuse stops the program with exit status 88. */
export const TSAN_ENV: Readonly<Record<string, string>> = { TSAN_OPTIONS: "halt_on_error=1:exitcode=88:second_deadlock_stack=1" };

/** A sanitizer's report in a program's stderr. */
export const SANITIZER_REPORT = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|ThreadSanitizer)|WARNING: ThreadSanitizer/;
