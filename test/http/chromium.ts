import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's chromium; playwright-core drives it (no browser download works on these machines). */
export const CHROMIUM = "/usr/bin/chromium";

/** A real headless Chromium with a fresh profile; close() removes the profile. */
export async function launchChromium(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "patchroll-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Counts, inside each box of a PNG screenshot, the pixels of each colour (within `tolerance` per channel).
 * Decoded by the browser itself (an <img> drawn on a canvas, in a blank page), so no PNG library is needed.
 */
export async function countColours(page: Page, png: Buffer, boxes: Record<string, Box>, colours: Record<string, string>, tolerance = 6): Promise<Record<string, Record<string, number>>> {
  // Runs in the page (the project's TypeScript has no DOM types, so this is browser source text).
  const inBrowser = `async ({ b64, boxes, colours, tolerance }) => {
    const img = new Image();
    img.src = "data:image/png;base64," + b64;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    const out = {};
    for (const [boxName, b] of Object.entries(boxes)) {
      const data = ctx.getImageData(Math.round(b.x), Math.round(b.y), Math.max(1, Math.round(b.width)), Math.max(1, Math.round(b.height))).data;
      out[boxName] = {};
      for (const [name, hex] of Object.entries(colours)) {
        const [r, g, bl] = rgb(hex);
        let n = 0;
        for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i] - r) <= tolerance && Math.abs(data[i + 1] - g) <= tolerance && Math.abs(data[i + 2] - bl) <= tolerance) n++;
        out[boxName][name] = n;
      }
    }
    return out;
  }`;
  const args = { b64: png.toString("base64"), boxes, colours, tolerance };
  return (await page.evaluate(`(${inBrowser})(${JSON.stringify(args)})`)) as Record<string, Record<string, number>>;
}
