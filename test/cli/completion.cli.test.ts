import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { testEnv } from "../helpers/redis.js";
import { patchroll } from "./run-cli.js";

/** The bash completion script from the built binary, loaded into a real bash and asked for completions. */
describe("patchroll completion bash", () => {
  const dir = mkdtempSync(join(tmpdir(), "patchroll-completion-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let script: string | undefined;

  async function complete(line: string): Promise<string[]> {
    if (script === undefined) {
      const env = testEnv("completion");
      const r = await patchroll(env.config, "completion", "bash");
      env.cleanup();
      expect(r.exitCode).toBe(0);
      script = join(dir, "patchroll.bash");
      writeFileSync(script, r.stdout);
    }
    // COMP_WORDS as bash splits the line; the word under the cursor is the last one (maybe empty).
    const words = line.split(" ");
    const program = `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _patchroll; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const { stdout } = await execa("bash", ["--norc", "-c", program], { cwd: dir });
    return stdout.split("\n").filter(Boolean);
  }

  it("completes commands, subcommands, flags and flag values", async () => {
    expect(await complete("patchroll st")).toEqual(["status"]);
    expect(await complete("patchroll rollouts p")).toEqual(["pause"]);
    expect((await complete("patchroll rollouts ")).sort()).toEqual(expect.arrayContaining(["abort", "approve", "list", "pause", "resume", "retry", "show"]));
    expect(await complete("patchroll jobs --st")).toEqual(["--state", "--state-dir"]);
    expect(await complete("patchroll jobs --qu")).toEqual(["--queue"]);
    expect(await complete("patchroll jobs --state f")).toEqual(["failed"]);
    expect(await complete("patchroll --json jobs --queue r")).toEqual(["rollouts"]);
    expect(await complete("patchroll rollouts approve --b")).toEqual(["--batch"]);
    expect(await complete("patchroll --host-id web7 do")).toEqual(["doctor"]);
  });

  it("completes file names after --config", async () => {
    writeFileSync(join(dir, "web7.yaml"), "hostId: web7\n");
    expect(await complete("patchroll --config web")).toEqual(["web7.yaml"]);
  });
});
