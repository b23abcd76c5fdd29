import { describe, expect, it } from "vitest";
import { parsePrometheusText, sampleValue } from "./prom-text.js";

const good = `# HELP jobs Jobs per state.
# TYPE jobs gauge
jobs{queue="a",state="waiting"} 3
jobs{queue="a\\"b\\\\c",state="x\\ny"} 1.5e2
# HELP lat Latency.
# TYPE lat histogram
lat_bucket{le="0.1",outcome="ok"} 1
lat_bucket{le="1",outcome="ok"} 2
lat_bucket{le="+Inf",outcome="ok"} 2
lat_sum{outcome="ok"} 0.35
lat_count{outcome="ok"} 2
`;

describe("parsePrometheusText (the test's own strict parser)", () => {
  it("reads families, labels with escapes, and histograms", () => {
    const f = parsePrometheusText(good);
    expect(f.get("jobs")?.type).toBe("gauge");
    expect(sampleValue(f, "jobs", { queue: 'a"b\\c' })).toBe(150);
    expect(f.get("jobs")!.samples[1]!.labels["state"]).toBe("x\ny");
    expect(sampleValue(f, "lat_count", { outcome: "ok" })).toBe(2);
  });

  it.each([
    ["a sample before its TYPE line is moved away", "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n", /not together/],
    ["a bad value", "# TYPE a gauge\na one\n", /bad value/],
    ["an unquoted label", "# TYPE a gauge\na{x=1} 1\n", /not quoted/],
    ["a bad metric name", "# TYPE 1a gauge\n", /bad metric name/],
    ["no final newline", "# TYPE a gauge\na 1", /newline/],
    ["a count that disagrees with +Inf", good.replace('lat_count{outcome="ok"} 2', 'lat_count{outcome="ok"} 3'), /differs/],
    ["buckets that shrink", good.replace('lat_bucket{le="1",outcome="ok"} 2', 'lat_bucket{le="1",outcome="ok"} 0'), /cumulative/],
  ])("rejects %s", (_what, text, error) => {
    expect(() => parsePrometheusText(text)).toThrow(error);
  });
});
