import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRolloutReport } from "../../src/report/load-report.js";
import { timelineSvg } from "../../src/report/timeline-svg.js";
import { JOURNALS } from "./golden.js";

/** The rollouts `npm run demo` ran for real: a success, and a halted one with a rollback and a pin. */
const ROLLOUTS = { success: "20261123T064154Z-492746dc", halted: "20261123T064200Z-7dc05133" };
const src = { journalDir: JOURNALS, hostId: "demo", docRoot: join(JOURNALS, "doc") };

const fills = (svg: string): Set<string> => new Set([...svg.matchAll(/ fill="(#[0-9a-f]{6})"/g)].map((m) => m[1]!));

describe("the timeline's legend", () => {
  for (const [name, id] of Object.entries(ROLLOUTS)) {
    it(`${name}: explains every colour a step bar has, and no other`, async () => {
      const svg = timelineSvg(await loadRolloutReport(src, id));
      const bars = [...svg.matchAll(/<rect class="step[^"]*"[^>]*>/g)].map((m) => m[0]);
      const legend = /<g class="legend"[^>]*>([\s\S]*?)<\/g>/.exec(svg)?.[1] ?? "";
      expect(bars.length).toBeGreaterThan(0);
      expect([...fills(legend)].sort()).toEqual([...fills(bars.join("\n"))].sort());
    });
  }

  it("has an entry for the pin step of a rollback", async () => {
    const svg = timelineSvg(await loadRolloutReport(src, ROLLOUTS.halted));
    expect(svg).toMatch(/<rect class="step rollback[^"]*"[^>]*fill="#ea580c"/);
    expect(/<g class="legend"[^>]*>[\s\S]*?<\/g>/.exec(svg)?.[0]).toMatch(/fill="#ea580c"\/><text[^>]*>pin old files</);
  });
});
