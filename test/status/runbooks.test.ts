import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../src/cli/main.js";
import { RUNBOOKS, runbookFile, runbooksDir } from "../../src/status/runbooks.js";
import { anchorOf } from "../../src/http/markdown.js";

const program = buildProgram({ output: { out: () => {}, err: () => {} }, env: {} });

/** The command path of `patchroll a b c` as far as the program knows it, and the first unknown word. */
function resolve(words: string[]): { known: string[]; unknown?: string } {
  let cmd: Command = program;
  const known: string[] = [];
  for (const w of words) {
    if (w.startsWith("-") || /^[A-Z]/.test(w) || cmd.commands.length === 0) break;
    const next = cmd.commands.find((c) => c.name() === w);
    if (next === undefined) return { known, unknown: w };
    cmd = next;
    known.push(w);
  }
  return { known };
}

describe("runbooks", () => {
  const files = readdirSync(runbooksDir()).filter((f) => f.endsWith(".md"));

  it("has a page for every situation the CLI and dashboard link to, and nothing unlisted", () => {
    for (const slug of Object.keys(RUNBOOKS)) expect(existsSync(runbookFile(slug as keyof typeof RUNBOOKS)), slug).toBe(true);
    expect(files.map((f) => f.slice(0, -3)).sort()).toEqual(Object.keys(RUNBOOKS).sort());
  });

  it("names only patchroll commands that exist (in code blocks and code spans)", () => {
    let checked = 0;
    for (const f of files) {
      const text = readFileSync(join(runbooksDir(), f), "utf8");
      const fenced = [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]!);
      const spans = [...text.replace(/```[\s\S]*?```/g, "").matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
      for (const code of [...fenced, ...spans]) {
        for (const m of code.matchAll(/(?:^|[\s;&|(])patchroll ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)*)/gm)) {
          const r = resolve(m[1]!.split(" "));
          expect(r.unknown === undefined && r.known.length > 0, `${f}: "patchroll ${m[1]}" is not a command`).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it("links only to pages and anchors that exist", () => {
    for (const f of files) {
      const text = readFileSync(join(runbooksDir(), f), "utf8");
      for (const m of text.matchAll(/\]\(([a-z0-9-]+\.md)(?:#([a-z0-9-]+))?\)/g)) {
        expect(files, `${f} links to ${m[1]}`).toContain(m[1]);
        if (m[2] !== undefined) {
          const target = readFileSync(join(runbooksDir(), m[1]!), "utf8");
          expect([...target.matchAll(/^#+ (.*)$/gm)].map((h) => anchorOf(h[1]!))).toContain(m[2]);
        }
      }
    }
  });

  it("has every page and anchor the source code names (runbooks/NAME.md#anchor, reports' RUNBOOK.report(anchor))", () => {
    const src = new URL("../../src", import.meta.url).pathname;
    const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
    const anchorsOf = (file: string) => [...readFileSync(join(runbooksDir(), file), "utf8").matchAll(/^#+ (.*)$/gm)].map((h) => anchorOf(h[1]!));
    let named = 0;
    for (const f of walk(src)) {
      const text = readFileSync(f, "utf8");
      for (const m of text.matchAll(/runbooks\/([a-z0-9-]+\.md)(?:#([a-z0-9-]+))?/g)) {
        named++;
        expect(files, `${f} names runbooks/${m[1]}`).toContain(m[1]);
        if (m[2] !== undefined) expect(anchorsOf(m[1]!), `${f} names runbooks/${m[1]}#${m[2]}`).toContain(m[2]);
      }
      for (const m of text.matchAll(/RUNBOOK\.report\("([a-z0-9-]+)"\)/g)) expect(anchorsOf("read-a-report.md"), `${f}: read-a-report.md#${m[1]}`).toContain(m[1]);
    }
    expect(named).toBeGreaterThan(3);
  });
});
