import type { ContainerDriver } from "./driver.js";
import { type Pin, unpin } from "./pins.js";

/**
 * Releases a container's pin so it runs the host's current package files: the pinned files leave its
 * delta while it is stopped (never under a mounted overlay), and a container that was running is started
 * again at once. Returns the pin that was released, or undefined when there was none.
 */
export async function releasePin(o: { stateDir: string; container: string; deltaDir: string; driver: ContainerDriver; stopTimeoutSec: number }): Promise<{ pin: Pin | undefined; restarted: boolean }> {
  const running = (await o.driver.state(o.container)) === "RUNNING";
  if (running) await o.driver.stop(o.container, o.stopTimeoutSec);
  try {
    return { pin: unpin({ stateDir: o.stateDir, container: o.container, deltaDir: o.deltaDir }), restarted: running };
  } finally {
    if (running) await o.driver.start(o.container);
  }
}
