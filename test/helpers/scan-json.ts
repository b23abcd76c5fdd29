import { mkdtempSync, rmSync } from "node:fs";
import { main } from "../../src/cli/main.js";
import type { TestBed } from "./lxc.js";

/** `patchroll scan ARGS` over a test bed, as an operator runs it: its exit code and output. */
export async function scanCli(bed: Pick<TestBed, "lxcPath" | "hostRoot">, ...args: string[]): Promise<{ code: number; output: string }> {
  const out: string[] = [];
  const state = mkdtempSync("/var/tmp/patchroll-test-state-");
  try {
    const code = await main(["--config", "/dev/null", "--state-dir", state, "--lxc-path", bed.lxcPath, "--set", `lxc.hostRoot=${bed.hostRoot}`, "scan", ...args], { out: (t) => out.push(t), err: (t) => out.push(t) }, {});
    return { code, output: out.join("") };
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

/** `patchroll scan --json ARGS` over a test bed: its exit code and containers by name. */
export async function scanJson(bed: Pick<TestBed, "lxcPath" | "hostRoot">, ...args: string[]): Promise<{ code: number; byName: Record<string, unknown> }> {
  const { code, output } = await scanCli(bed, "--json", ...args);
  const containers = (JSON.parse(output) as { containers: { name: string }[] }).containers;
  return { code, byName: Object.fromEntries(containers.map((c) => [c.name, c])) };
}
