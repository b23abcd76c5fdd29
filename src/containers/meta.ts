import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { HealthCheck } from "../config/schema.js";
import { PatchrollError } from "../errors/patchroll-error.js";
import { writeFileDurableSync } from "../fs/durable-file.js";

/** What patchroll records about a container beside its LXC config: `LXCPATH/NAME/patchroll.json`. */
export const ContainerMeta = z.strictObject({
  v: z.literal(1),
  /** Service group; a batch never takes every container of one group. */
  group: z.string().min(1).default("default"),
  /** Declared canaries go first. */
  canary: z.boolean().default(false),
  /** Checks that decide whether the container is healthy after a restart. */
  health: z.array(HealthCheck).default([]),
});
export type ContainerMeta = z.infer<typeof ContainerMeta>;
export type ContainerMetaInput = z.input<typeof ContainerMeta>;

export const META_FILE = "patchroll.json";

export function metaPath(lxcPath: string, name: string): string {
  return join(lxcPath, name, META_FILE);
}

/** Reads a container's metadata; a container without the file gets the defaults (no health checks). */
export function readMeta(lxcPath: string, name: string): ContainerMeta {
  const file = metaPath(lxcPath, name);
  if (!existsSync(file)) return ContainerMeta.parse({ v: 1 });
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new PatchrollError("CONTAINER_INVALID", `${file}: not valid JSON (${(err as Error).message}); fix it or recreate it with patchroll containers create ${name}.`, { cause: err });
  }
  const result = ContainerMeta.safeParse(raw);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ");
    throw new PatchrollError("CONTAINER_INVALID", `${file}: ${detail}`);
  }
  return result.data;
}

/** Writes metadata durably (src/fs/durable-file.ts). */
export function writeMeta(lxcPath: string, name: string, meta: ContainerMetaInput): ContainerMeta {
  const parsed = ContainerMeta.parse(meta);
  const file = metaPath(lxcPath, name);
  writeFileDurableSync(file, `${JSON.stringify(parsed, null, 2)}\n`, { mode: 0o644 });
  return parsed;
}
