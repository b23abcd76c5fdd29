/** Container states as patchroll sees them. */
export type ContainerState = "RUNNING" | "STOPPED" | "STARTING" | "STOPPING" | "FROZEN" | "ABORTING" | "UNKNOWN";

/** State and init pid of one container, as a batch listing reports them. */
export interface ContainerStatus {
  name: string;
  state: ContainerState;
  initPid?: number | undefined;
}

/**
 * Everything patchroll asks of a container runtime. LXC implements it today (`lxc-driver.ts`); another
 * runtime (systemd-nspawn) would implement the same calls. Every call takes argument arrays, never a shell
 * string, and has a time bound.
 */
export interface ContainerDriver {
  readonly runtime: string;
  /** Starts the container in the background; resolves once the runtime reports it running. */
  start(name: string): Promise<void>;
  /** Stops it: the configured halt signal first, a kill after `timeoutSec`. A stopped container is left as is. */
  stop(name: string, timeoutSec: number): Promise<void>;
  state(name: string): Promise<ContainerState>;
  /** The init process as seen from the host, or undefined when not running. */
  initPid(name: string): Promise<number | undefined>;
  /** Every process of the container, host pids. */
  pids(name: string): Promise<number[]>;
  /** Runs a command inside the running container. */
  attach(name: string, argv: readonly string[], timeoutMs: number): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Optional: state and init pid of every container in one call, so discovery over hundreds stays fast. */
  list?(): Promise<ContainerStatus[]>;
}
