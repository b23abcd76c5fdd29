import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { aptProcessAlive, currentBootId, parseProcStat } from "../../src/intake/apt-process.js";

describe("parseProcStat", () => {
  it("reads pid, name, state, parent and start time, even with spaces and parentheses in the name", () => {
    const line = "11446 (my (odd) name) S 11387 11342 5908 0 -1 4194624 7464 0 0 0 3 1 0 0 20 0 1 0 79749 3000000 900 18446744073709551615";
    expect(parseProcStat(line)).toEqual({ pid: 11446, comm: "my (odd) name", state: "S", ppid: 11387, startTicks: 79749 });
    expect(parseProcStat("garbage")).toBeNull();
    expect(parseProcStat("1 (x) S 0")).toBeNull();
  });
});

describe("aptProcessAlive", () => {
  const self = parseProcStat(readFileSync("/proc/self/stat", "utf8"))!;

  it("is true for a running process with its own start time, in this boot", () => {
    expect(aptProcessAlive(self.pid, self.startTicks)).toBe(true);
    expect(aptProcessAlive(self.pid, self.startTicks, currentBootId())).toBe(true);
  });

  it("is false for a reused pid, another boot, or no process", () => {
    expect(aptProcessAlive(self.pid, self.startTicks + 1)).toBe(false);
    expect(aptProcessAlive(self.pid, self.startTicks, "00000000-0000-0000-0000-000000000000")).toBe(false);
    expect(aptProcessAlive(0, 0)).toBe(false);
    expect(aptProcessAlive(4_194_304 + 7, 1)).toBe(false);
  });
});
