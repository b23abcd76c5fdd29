import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";

/** The shared test Redis. */
export function testRedisUrl(): string {
  return inject("redisUrl");
}

/** A host id no other test uses, so every key and queue of this test is its own. */
export function uniqueHostId(label: string): string {
  return `t-${label}-${randomBytes(4).toString("hex")}`;
}

export interface TestEnv {
  config: Config;
  /** Scratch directory holding state, spool and journal; removed by cleanup(). */
  root: string;
  cleanup: () => void;
}

/**
 * A complete configuration for one test: its own host id (hence its own Redis keys), its own state, spool
 * and journal directories on the root filesystem, and the shared test Redis.
 */
export function testEnv(label: string, flags: Record<string, unknown> | ((root: string) => Record<string, unknown>) = {}): TestEnv {
  const base = "/var/tmp";
  const root = mkdtempSync(join(base, `patchroll-test-${label}-`));
  const { config } = loadConfig({
    env: {},
    flags: {
      hostId: uniqueHostId(label),
      stateDir: join(root, "state"),
      spoolDir: join(root, "spool"),
      journalDir: join(root, "journal"),
      redis: { url: testRedisUrl() },
      // Test daemons run side by side: no dashboard unless a test asks for one (on a port of its own), and
      // no following of the machine's dpkg and unattended-upgrades logs unless a test points them at its own.
      http: { enabled: false },
      intake: { dpkgLog: join(root, "logs", "dpkg.log"), uuLogDir: join(root, "logs", "unattended-upgrades") },
      ...(typeof flags === "function" ? flags(root) : flags),
    },
  });
  return { config, root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
