import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestControl } from "../../src/rollout/controls.js";
import type { TestContainer } from "../helpers/lxc.js";
import { freePort } from "../helpers/redis-server.js";
import { rolloutHarness, type RolloutHarness } from "../helpers/rollout-harness.js";

/**
 * Health answers that follow a pattern, one letter per request (P: 200, F: 503; past the end: 200), from a
 * server on the host: the pattern goes on across the container's restart and its rollback (state inside
 * the delta would be reset by the restore).
 */
function patternServer(): { server: Server; patterns: Map<string, string>; url: (name: string) => string; listen: () => Promise<void> } {
  const patterns = new Map<string, string>();
  const counts = new Map<string, number>();
  let port = 0;
  const server = createServer((req, res) => {
    const name = (req.url ?? "").split("/").pop() ?? "";
    const n = counts.get(name) ?? 0;
    counts.set(name, n + 1);
    const fail = (patterns.get(name) ?? "")[n] === "F";
    res.writeHead(fail ? 503 : 200).end(fail ? "fail\n" : "ok\n");
  });
  return {
    server,
    patterns,
    url: (name) => `http://127.0.0.1:${port}/health/${name}`,
    listen: async () => {
      port = await freePort();
      await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    },
  };
}

describe("health thresholds, maintenance windows and webhooks (real LXC, real Redis)", () => {
  let h: RolloutHarness;
  let hook: Server;
  const health = patternServer();
  const received: { body: Record<string, unknown>; at: number }[] = [];
  let failFirst = 1;

  beforeAll(async () => {
    const port = await freePort();
    hook = createServer((req, res) => {
      let text = "";
      req.on("data", (d: Buffer) => (text += d.toString()));
      req.on("end", () => {
        // The first delivery fails: the queue must retry it.
        if (failFirst-- > 0) return res.writeHead(500).end();
        received.push({ body: JSON.parse(text) as Record<string, unknown>, at: Date.now() });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(port, "127.0.0.1", r));
    await health.listen();
    const check = (c: TestContainer) => [{ type: "http" as const, url: health.url(c.name), expectStatus: 200, timeoutMs: 2000 }];
    h = await rolloutHarness(
      "health",
      [{ canary: true, health: check }, { health: check }],
      { rollout: { batches: [1, "100%"], healthyAfter: 2, unhealthyAfter: 3 }, notify: { webhooks: [{ url: `http://127.0.0.1:${port}/hook`, events: ["halted", "rolled-back", "completed"] }] } },
    );
    const [flappy, bad] = h.containers;
    // Flaps before it settles, but never fails three times in a row: healthy.
    health.patterns.set(flappy!.name, "FPFPFPP");
    // Answers once, then fails three times in a row: unhealthy; healthy again after the rollback.
    health.patterns.set(bad!.name, "PFFF");
    await h.startDaemon();
  });
  afterAll(async () => {
    await h?.cleanup();
    hook?.close();
    health.server.close();
  });

  it("damps flapping with the thresholds, and rolls back three failures in a row, saying so", async () => {
    const id = await h.trigger();
    const done = await h.waitFor(id, ["completed", "halted"]);
    const [flappy, bad] = h.containers;
    expect(done.status).toBe("halted");
    expect(done.outcomes?.find((o) => o.container === flappy!.name)?.outcome).toBe("patched");
    const failed = done.outcomes?.find((o) => o.container === bad!.name);
    expect(failed?.outcome).toBe("rolled-back");
    expect(failed?.reason).toMatch(new RegExp(`health check ${health.url(bad!.name)} returned 503 three times in a row after restart`));
    const gate = h.journal(id).find((e) => e.type === "step.end" && e.container === flappy!.name && e.data["step"] === "health")!;
    expect(gate.data).toMatchObject({ healthy: true });
    expect(gate.data["rounds"]).toBeGreaterThanOrEqual(7);
  });

  it("tells the webhook of the rollback and the halt, retrying a failed delivery", async () => {
    const deadline = Date.now() + 30_000;
    while (received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // A retried delivery may arrive after a later one: webhooks carry what happened, not an order.
    const byKind = new Map(received.map((r) => [r.body["kind"], r.body]));
    expect([...byKind.keys()].sort()).toEqual(["halted", "rolled-back"]);
    expect(byKind.get("rolled-back")).toMatchObject({ v: 1, host: h.env.config.hostId, container: h.containers[1]!.name });
    expect(String(byKind.get("halted")!["text"])).toMatch(/halted after batch 2/);
    expect(failFirst).toBeLessThan(0);
  });

  it("waits outside the maintenance windows and says when the next one opens", async () => {
    await h.stopDaemon();
    const now = new Date();
    const closed = `${(now.getMinutes() + 30) % 60} * * * *`;
    const flags = { ...h.env.config, rollout: { ...h.env.config.rollout, windows: [closed] } };
    Object.assign(h.env, { config: flags });
    await h.startDaemon();
    const id = await h.trigger();
    const waiting = await h.waitFor(id, ["waiting"]);
    expect(waiting.waitReason).toMatch(new RegExp(`outside the maintenance windows \\(${closed.replace(/\*/g, "\\*")}\\); the next opens 20`));
    await requestControl(h.redis, h.env.config, { action: "abort", rolloutId: id, who: "test", why: "done waiting" });
    expect((await h.waitFor(id, ["aborted"])).outcomes).toEqual([]);
  });
});
