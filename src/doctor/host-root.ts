import { resolve } from "node:path";
import { discoverContainers } from "../containers/discover.js";
import { isHostRootMounted } from "../containers/host-root.js";
import type { DoctorCheck } from "./check.js";

/** The bind mount of `/` every managed container's overlay stands on (gone after a reboot until the daemon starts). */
export const hostRootCheck: DoctorCheck = {
  id: "host-root",
  title: "host root bind mount present",
  async run(ctx) {
    const { lxc } = ctx.config;
    const containers = await discoverContainers({ lxcPath: lxc.path, hostRoot: lxc.hostRoot, driver: ctx.driver });
    const users = containers.filter((c) => c.lowerDirs.length > 0 && resolve(c.lowerDirs.at(-1)!) === resolve(lxc.hostRoot));
    if (users.length === 0) return { skipped: `no container under ${lxc.path} stands on ${lxc.hostRoot}` };
    if (isHostRootMounted(lxc.hostRoot)) return [];
    return [
      {
        severity: "error",
        problem: `${lxc.hostRoot} is not a bind mount of / but ${users.length} container(s) stand on it (${users.map((c) => c.name).slice(0, 5).join(", ")}): they cannot start, and patchroll does not manage them`,
        fix: `start the daemon (it mounts it: systemctl restart patchroll), or by hand: mount --bind / ${lxc.hostRoot} && mount --make-private ${lxc.hostRoot}`,
        runbook: "daemon-down",
      },
    ];
  },
};
