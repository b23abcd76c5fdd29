import type { Redis } from "ioredis";
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EventStore } from "../../src/intake/event-store.js";
import { formatSpoolRecord, parseSpoolRecord, spoolRecordName } from "../../src/intake/spool-record.js";
import type { RolloutHarness } from "./rollout-harness.js";
import { until } from "./redis-topology.js";

export interface WrittenRecord {
  name: string;
  text: string;
  timeNs: bigint;
}

const BOOT = "b1825a29-d417-4eb9-9398-fd9814117bdc";

/** A post-invoke record as the apt hook writes it (no package actions: it makes no rollout of its own). */
export function writeSpoolRecord(spoolDir: string): WrittenRecord {
  const name = spoolRecordName(BOOT, Date.now(), 4242, "post-invoke");
  const text = formatSpoolRecord({ kind: "post-invoke", bootId: BOOT, aptPid: 4241, aptStart: 99118, aptComm: "apt-get" });
  writeFileSync(join(spoolDir, name), text);
  return { name, text, timeNs: statSync(join(spoolDir, name), { bigint: true }).mtimeNs };
}

/** Waits until the record left the spool, and returns the ids Redis holds for its apt run. */
export async function takenRecordIds(h: RolloutHarness, record: WrittenRecord, redis: Redis = h.redis): Promise<{ expected: string; held: string[] }> {
  await until("the spool drained", async () => (readdirSync(h.env.config.spoolDir).includes(record.name) ? undefined : true), 30_000);
  const rec = parseSpoolRecord(record.text, record.name, record.timeNs);
  return { expected: rec.id, held: (await new EventStore(redis, h.env.config).records(rec.runKey)).map((r) => r.id) };
}
