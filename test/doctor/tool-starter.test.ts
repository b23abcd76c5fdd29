import { describe, expect, it } from "vitest";
import { judgeToolStarter, toolStarterCheck } from "../../src/doctor/tool-starter.js";
import { PRSPAWN } from "../../src/proc/run-tool.js";

describe("the tool-starter check", () => {
  it("finds nothing on this machine, where prspawn is built and starts the tools", async () => {
    expect(PRSPAWN).not.toBe("");
    expect(await toolStarterCheck.run({} as Parameters<typeof toolStarterCheck.run>[0])).toEqual([]);
  });

  it("warns when prspawn is not built, switched off, or not what started the tool; errs when no tool starts", () => {
    const built = { binary: "/opt/p/dist/native/prspawn", switchedOff: false };
    expect(judgeToolStarter({ ...built, startedBy: "prspawn" })).toEqual([]);
    expect(judgeToolStarter({ binary: "", switchedOff: false, startedBy: "MainThread" })).toEqual([expect.objectContaining({ severity: "warning", problem: expect.stringMatching(/prspawn is not built/) })]);
    expect(judgeToolStarter({ ...built, switchedOff: true, startedBy: "MainThread" })).toEqual([expect.objectContaining({ severity: "warning", problem: expect.stringMatching(/PATCHROLL_PRSPAWN=0/) })]);
    expect(judgeToolStarter({ ...built, startedBy: "MainThread" })).toEqual([expect.objectContaining({ severity: "warning", fix: expect.stringMatching(/run \/opt\/p\/dist\/native\/prspawn < \/dev\/null/) })]);
    expect(judgeToolStarter({ ...built, error: "cannot run /bin/sh: ENOENT" })).toEqual([expect.objectContaining({ severity: "error" })]);
  });
});
