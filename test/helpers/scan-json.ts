import { mkdtempSync, rmSync } from "node:fs";
import { main } from "../../src/cli/main.js";
import type { TestBed } from "./lxc.js";

/** `patchroll scan --json ARGS` over a test bed, as an operator runs it: its exit code and containers by name. */
export async function scanJson(bed: Pick<TestBed, "lxcPath" | "hostRoot">, ...args: string[]): Promise<{ code: number; byName: Record<string, unknown> }> {
  const out: string[] = [];
  const state = mkdtempSync("/var/tmp/patchroll-test-state-");
  try {
    const code = await main(["--config", "/dev/null", "--state-dir", state, "--lxc-path", bed.lxcPath, "--set", `lxc.hostRoot=${bed.hostRoot}`, "scan", "--json", ...args], { out: (t) => out.push(t), err: (t) => out.push(t) }, {});
    const containers = (JSON.parse(out.join("")) as { containers: { name: string }[] }).containers;
    return { code, byName: Object.fromEntries(containers.map((c) => [c.name, c])) };
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}
