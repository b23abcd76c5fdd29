import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { packageFiles } from "../../src/detect/package-files.js";

const infoDir = mkdtempSync("/var/tmp/patchroll-test-dpkg-info-");
afterAll(() => rmSync(infoDir, { recursive: true, force: true }));

it("finds a package's list with or without its architecture, and sees lists added later", () => {
  writeFileSync(join(infoDir, "prtplain.list"), "/.\n/usr\n/usr/bin/prtplain\n");
  writeFileSync(join(infoDir, "prtarch:amd64.list"), "/usr/lib/prtarch.so\n");
  expect(packageFiles("prtplain", infoDir)).toEqual(["/usr", "/usr/bin/prtplain"]);
  expect(packageFiles("prtarch", infoDir)).toEqual(["/usr/lib/prtarch.so"]);
  expect(packageFiles("prtlater", infoDir)).toEqual([]);
  // The listing of the directory is kept while it does not change; an old directory's listing is trusted...
  const past = new Date(Date.now() - 60_000);
  utimesSync(infoDir, past, past);
  expect(packageFiles("prtlater", infoDir)).toEqual([]);
  // ...until a package is installed there (the directory's mtime moves).
  writeFileSync(join(infoDir, "prtlater:amd64.list"), "/usr/bin/prtlater\n");
  expect(packageFiles("prtlater", infoDir)).toEqual(["/usr/bin/prtlater"]);
});
