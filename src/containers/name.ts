import { PatchrollError } from "../errors/patchroll-error.js";

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** What a container name may look like, in words, for error messages. */
export const CONTAINER_NAME_RULE =
  "1 to 64 characters: letters, digits, '_', '.' or '-', starting with a letter or digit, and no '..'";

/**
 * Returns `name` when it is a safe container name, so it can be joined into paths (`LXCPATH/NAME`), cgroup
 * names (`lxc.payload.NAME`) and LXC config lines without escaping. Throws `CONTAINER_INVALID` otherwise.
 */
export function assertContainerName(name: string): string {
  if (typeof name !== "string" || !NAME_PATTERN.test(name) || name.includes("..")) {
    throw new PatchrollError("CONTAINER_INVALID", `container name ${JSON.stringify(name)} is not allowed: use ${CONTAINER_NAME_RULE}.`);
  }
  return name;
}

/** True when `name` passes {@link assertContainerName}. */
export function isContainerName(name: string): boolean {
  return NAME_PATTERN.test(name) && !name.includes("..");
}
