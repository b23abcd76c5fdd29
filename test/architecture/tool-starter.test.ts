import { describe, expect, it } from "vitest";
import { importsOf, sourceFiles } from "../helpers/source-imports.js";

/** Modules that start processes. */
const PROCESS_MODULES = new Set(["execa", "child_process", "node:child_process"]);

/**
 * The only modules of src/ and workers/ that may start processes without the one starter
 * (src/proc/run-tool.ts: prspawn, off the event loop), each with the reason it differs.
 */
const ALLOWED: Record<string, string> = {
  // The starter itself: Node's child_process is its fallback where prspawn is not built.
  "src/proc/run-tool.ts": "the starter",
  // redis-server is not a tool run to its end but a server supervised for the daemon's lifetime, its
  // output read line by line as it comes; the starter collects output of tools that exit.
  "src/queue/redis-supervisor.ts": "long-lived supervised server with streamed output",
  // The demo (`npm run demo`) builds and installs its packages from the CLI, never from the daemon, and
  // needs what the starter leaves out on purpose (a working directory, stdin, apt's environment).
  "src/demo/cleanup.ts": "demo only",
  "src/demo/hermetic-apt.ts": "demo only",
  "src/demo/package-fixture.ts": "demo only",
};

describe("every tool starts through the one starter", () => {
  const starters = importsOf(sourceFiles("src", "workers")).filter((i) => PROCESS_MODULES.has(i.specifier));

  it("finds the modules that import execa or child_process", () => {
    // The check below is only as good as the scan: it must see the starter's own import.
    expect(starters.map((i) => i.file)).toContain("src/proc/run-tool.ts");
  });

  it("lets only the modules of the allow-list import them", () => {
    const wrong = starters.filter((i) => ALLOWED[i.file] === undefined);
    expect(wrong.map((i) => `${i.file}:${i.line} imports ${i.specifier}; start tools with runTool (src/proc/run-tool.ts)`)).toEqual([]);
  });

  it("keeps the allow-list to modules that still need it", () => {
    expect(Object.keys(ALLOWED).filter((f) => !starters.some((i) => i.file === f))).toEqual([]);
  });
});
