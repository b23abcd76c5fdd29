import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { stringify } from "yaml";
import { repoRoot } from "./frozen-checkout.js";

/** `PLAY RECAP` counts of an ansible-playbook run against the inventory host `local`. */
export function recap(output: string): Record<string, number> {
  const line = output.split("\n").find((l) => /^local\s+:\s+ok=/.test(l));
  if (line === undefined) throw new Error(`no PLAY RECAP line in:\n${output}`);
  return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

let count = 0;

/**
 * Runs ansible-playbook with connection local against this machine: one play applying the role
 * `patchroll` (from deploy/ansible/roles) with `vars`. Ansible's own temp files and home live in `work`.
 */
export async function runRole(work: string, vars: Record<string, unknown>, ...args: string[]) {
  mkdirSync(work, { recursive: true });
  const inventory = join(work, "inventory");
  writeFileSync(inventory, "local ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n");
  const playbook = join(work, `play-${++count}.yml`);
  // No facts: the role's defaults that use them (patchroll_manage_service) are given explicitly.
  writeFileSync(playbook, stringify([{ name: "patchroll test", hosts: "local", gather_facts: false, vars, roles: ["patchroll"] }]));
  return execa("ansible-playbook", ["-i", inventory, ...args, playbook], {
    reject: false,
    all: true,
    timeout: 600_000,
    forceKillAfterDelay: 5_000,
    extendEnv: false,
    env: {
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: work,
      ANSIBLE_ROLES_PATH: join(repoRoot, "deploy/ansible/roles"),
      ANSIBLE_LOCAL_TEMP: join(work, "ansible-local"),
      ANSIBLE_REMOTE_TEMP: join(work, "ansible-remote"),
      ANSIBLE_NOCOLOR: "1",
      ANSIBLE_RETRY_FILES_ENABLED: "0",
      ANSIBLE_PIPELINING: "1",
      ANSIBLE_PYTHON_INTERPRETER: "/usr/bin/python3",
      LC_ALL: "C.UTF-8",
    },
  });
}
