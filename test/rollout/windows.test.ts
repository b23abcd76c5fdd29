import { afterEach, describe, expect, it } from "vitest";
import { MaintenanceWindows } from "../../src/rollout/windows.js";

describe("maintenance windows", () => {
  let windows: MaintenanceWindows | undefined;
  afterEach(() => windows?.close());

  it("are open for the whole of each minute they name, not only its first second", () => {
    windows = new MaintenanceWindows(["* 3 * * *"]);
    for (const second of [0, 1, 29, 59]) {
      expect({ second, open: windows.isOpen(new Date(2026, 11, 3, 3, 17, second, 500)) }).toEqual({ second, open: true });
    }
    expect(windows.isOpen(new Date(2026, 11, 3, 4, 0, 30))).toBe(false);
    expect(windows.isOpen(new Date(2026, 11, 3, 2, 59, 59, 999))).toBe(false);
  });

  it("name the next opening at the start of a minute", () => {
    windows = new MaintenanceWindows(["30 3 * * *"]);
    expect(windows.nextOpening(new Date(2026, 11, 3, 3, 29, 45))).toEqual(new Date(2026, 11, 3, 3, 30, 0));
    expect(windows.isOpen(new Date(2026, 11, 3, 3, 30, 45))).toBe(true);
  });

  it("with none configured, are always open", () => {
    windows = new MaintenanceWindows([]);
    expect(windows.isOpen(new Date(2026, 11, 3, 12, 0, 7))).toBe(true);
  });
});
