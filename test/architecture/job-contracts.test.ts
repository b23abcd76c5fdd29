import { describe, expect, it } from "vitest";
import { importsOf, sourceFiles } from "../helpers/source-imports.js";

/**
 * workers/ holds the job handlers only; each job's name, payload schema, id rule and enqueue function
 * live in src/queue/jobs/. Only the daemon (which starts the workers) and workers/ itself reach into
 * workers/, so producers never import handlers. Tests may import a handler to test it.
 */
describe("job contracts live below the handlers", () => {
  const imports = importsOf(sourceFiles("src", "workers", "bench"));

  it("reads the import statements it checks", () => {
    // The scanner must see the arrows that are allowed, or the check below would pass on nothing.
    expect(imports).toContainEqual(expect.objectContaining({ file: "src/daemon/daemon.ts", target: "workers/start-workers.js" }));
    expect(imports).toContainEqual(expect.objectContaining({ file: "workers/rollout.ts", target: "src/queue/jobs/rollout.js" }));
    expect(imports.some((i) => i.file === "src/daemon/daemon.ts" && i.specifier === "../http/dashboard.js")).toBe(true); // dynamic import()
  });

  it("lets no module outside workers/ and src/daemon/ import from workers/", () => {
    const wrong = imports.filter((i) => i.target.startsWith("workers/") && !i.file.startsWith("workers/") && !i.file.startsWith("src/daemon/"));
    expect(wrong.map((i) => `${i.file}:${i.line} imports ${i.specifier}`)).toEqual([]);
  });

  it("keeps src/intake from knowing about rollouts", () => {
    const wrong = imports.filter((i) => i.file.startsWith("src/intake/") && (i.target.startsWith("src/rollout/") || i.target === "src/queue/jobs/rollout.js"));
    expect(wrong.map((i) => `${i.file}:${i.line} imports ${i.specifier}`)).toEqual([]);
  });
});
