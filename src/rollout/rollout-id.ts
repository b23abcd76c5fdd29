import { createHash } from "node:crypto";
import type { AptEvent } from "../intake/apt-event.js";

/**
 * The rollout id of an event: its time (so ids sort by time) and a hash of the event id (so the same event
 * always maps to the same rollout), e.g. `20261123T054313Z-1a2b3c4d`.
 */
export function rolloutIdFor(event: Pick<AptEvent, "id" | "time">): string {
  const stamp = new Date(event.time).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `${stamp}-${createHash("sha256").update(event.id).digest("hex").slice(0, 8)}`;
}
