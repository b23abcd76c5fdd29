import { expect, it } from "vitest";
import { PRSPAWN } from "../../src/proc/run-tool.js";
import { fdsAndRss, PrspawnDriver, runFrame } from "./prspawn-driver.js";

/**
 * prspawn lives as long as the daemon: 2000 tools through one prspawn (the build the daemon runs) must
 * leave it with the fds it started with and about the memory it had after the first few hundred.
 */
it("keeps its open fds and resident memory bounded over 2000 tools", async () => {
  const p = new PrspawnDriver(PRSPAWN);
  await p.until(() => true);
  const idle = await fdsAndRss(p.pid);
  const batch = 50;
  let sent = 0;
  let warm: { fds: number; rssKb: number } | undefined;
  while (sent < 2000) {
    for (let i = 0; i < batch; i++) {
      sent++;
      // Some output on both streams, some tools that fail to start: every path that allocates.
      const argv = sent % 10 === 0 ? ["patchroll-no-such-tool"] : ["/bin/sh", "-c", `echo out-${sent}; echo err-${sent} >&2; exit ${sent % 3}`];
      p.send(runFrame(sent, argv));
    }
    await p.until((rs) => rs.filter((r) => r.type !== "P").length === sent, 30_000);
    if (sent === 400) warm = await fdsAndRss(p.pid);
  }
  const end = await fdsAndRss(p.pid);
  expect(p.replies.filter((r) => r.type === "X")).toHaveLength(1800);
  expect(p.replies.find((r) => r.id === 1999 && r.type === "X")!.out.toString()).toBe("out-1999\n");
  expect(idle.fds).toBe(3);
  expect(end.fds).toBe(idle.fds);
  expect(end.rssKb - warm!.rssKb).toBeLessThan(1024);
  expect(await p.end()).toEqual({ code: 0, signal: null });
}, 60_000);
