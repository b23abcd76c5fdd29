import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Every on-call situation that has a page in `runbooks/`, with the page's title. */
export const RUNBOOKS = {
  "rollout-halted": "Rollout halted",
  "rollout-waiting": "Rollout paused or waiting for approval",
  "container-pinned": "Container rolled back and pinned",
  "queue-stuck": "Queue stuck or jobs stalled",
  "redis-down": "Redis down or out of memory",
  "spool-backlog": "Spool backlog growing",
  "shadowed-containers": "Shadowed containers",
  "own-dpkg-containers": "Containers with their own dpkg database",
  "hook-warning": "apt prints a patchroll hook warning",
  "stale-containers": "Stale containers after a rollout",
  "read-a-report": "How to read a report",
  "secret-exposure": "Host secrets readable inside a container",
  "daemon-down": "Daemon down",
  "fleet-version-held": "Version held fleet-wide",
  "fleet-host-lost": "Host lost",
  "fleet-lease-stuck": "Fleet lease stuck",
} as const;

export type RunbookSlug = keyof typeof RUNBOOKS;

export function isRunbookSlug(name: string): name is RunbookSlug {
  return Object.hasOwn(RUNBOOKS, name);
}

let cachedDir: string | undefined;

/**
 * The `runbooks/` directory that ships with this copy of patchroll: found by walking up from this module
 * (it runs from `src/` under vitest and from `dist/src/` when built), so an installation under
 * /usr/lib/patchroll links to its own pages.
 */
export function runbooksDir(): string {
  if (cachedDir !== undefined) return cachedDir;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "runbooks", "rollout-halted.md")) && existsSync(join(dir, "package.json"))) {
      cachedDir = join(dir, "runbooks");
      return cachedDir;
    }
    dir = dirname(dir);
  }
  cachedDir = "/usr/lib/patchroll/runbooks";
  return cachedDir;
}

/** The absolute path of a runbook page, as the CLI prints it. */
export function runbookFile(slug: RunbookSlug): string {
  return join(runbooksDir(), `${slug}.md`);
}

/** The dashboard's URL path of a runbook page. */
export function runbookUrlPath(slug: RunbookSlug): string {
  return `/runbooks/${slug}`;
}
