import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { GenericContainer, ImageName, Wait, getContainerRuntimeClient, type ContainerRuntimeClient } from "testcontainers";
import { freePort, waitForRedis, type TestRedis } from "../helpers/redis-server.js";

/** The locally built Redis image (test/docker/build-redis-image.sh); no registry is reachable here. */
export const REDIS_TEST_IMAGE = process.env["PATCHROLL_TEST_REDIS_IMAGE"] ?? "patchroll-test/redis:local";

/** Label on every test Redis container, so leftovers of killed runs can be found (.ci/docker-setup). */
export const REDIS_CONTAINER_LABEL = "patchroll.test";

const BUILD_SCRIPT = fileURLToPath(new URL("./build-redis-image.sh", import.meta.url));
const OWNER_PID_LABEL = "patchroll.owner-pid";
const OWNER_HOST_LABEL = "patchroll.owner-host";

/**
 * Environment testcontainers needs on the test machines (docs/platform.md, "The test machines"): no Ryuk (its image cannot be
 * pulled), and the host is loopback. Without the override testcontainers sees /.dockerenv, thinks it runs
 * inside a container and would target the docker0 bridge gateway, which nothing here may send traffic to.
 */
export function prepareTestcontainersEnv(): void {
  process.env["TESTCONTAINERS_RYUK_DISABLED"] = "true";
  process.env["TESTCONTAINERS_HOST_OVERRIDE"] = "127.0.0.1";
}

/** The container runtime, or undefined when no Docker engine answers within `timeoutMs` (default 5000). */
export async function dockerRuntime(timeoutMs = 5000): Promise<ContainerRuntimeClient | undefined> {
  prepareTestcontainersEnv();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([getContainerRuntimeClient().catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when a Docker engine answers (testcontainers' own discovery: DOCKER_HOST, then the unix socket). */
export async function dockerReachable(timeoutMs = 5000): Promise<boolean> {
  return (await dockerRuntime(timeoutMs)) !== undefined;
}

/** Builds the test image when it is missing (the script is idempotent; .ci/docker-setup runs it too). */
export async function ensureRedisImage(runtime: ContainerRuntimeClient, image = REDIS_TEST_IMAGE): Promise<void> {
  if (await runtime.image.exists(ImageName.fromString(image))) return;
  await execa(BUILD_SCRIPT, [image], { timeout: 120_000, forceKillAfterDelay: 5000, stdio: ["ignore", "inherit", "inherit"] });
}

/**
 * Removes test Redis containers left by test runs on this host whose process is gone: there is no Ryuk to
 * reap them, and a killed vitest never reaches its teardown.
 */
export async function removeOrphanedRedisContainers(runtime: ContainerRuntimeClient): Promise<string[]> {
  const docker = runtime.container.dockerode;
  const infos = await docker.listContainers({ all: true, filters: { label: [`${REDIS_CONTAINER_LABEL}=redis`] } });
  const removed: string[] = [];
  for (const info of infos) {
    const pid = Number(info.Labels[OWNER_PID_LABEL]);
    if (info.Labels[OWNER_HOST_LABEL] !== hostname() || !Number.isInteger(pid) || processAlive(pid)) continue;
    await docker.getContainer(info.Id).remove({ force: true }).catch(() => {});
    removed.push(info.Id);
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface RedisContainerOptions {
  /** Image to run; default {@link REDIS_TEST_IMAGE}. */
  image?: string;
  /** Loopback port to listen on; default a free one. */
  port?: number;
  /** Start-up timeout in ms; default 30000. */
  startupTimeoutMs?: number;
}

/**
 * Starts Redis through testcontainers: the local image, host network mode, bound to 127.0.0.1 on a free
 * port, ready when it logs "Ready to accept connections" and answers PING on loopback. Stopping removes it.
 */
export async function startRedisContainer(options: RedisContainerOptions = {}): Promise<TestRedis> {
  const runtime = await dockerRuntime();
  if (runtime === undefined) {
    throw new Error("No Docker engine is reachable for the testcontainers Redis. Run .ci/docker-setup (starts dockerd and builds the image), or set PATCHROLL_TEST_REDIS=spawn.");
  }
  const image = options.image ?? REDIS_TEST_IMAGE;
  await ensureRedisImage(runtime, image);
  await removeOrphanedRedisContainers(runtime);
  const port = options.port ?? (await freePort());
  const container = await new GenericContainer(image)
    .withNetworkMode("host")
    .withCommand(["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
    .withLabels({ [REDIS_CONTAINER_LABEL]: "redis", [OWNER_PID_LABEL]: String(process.pid), [OWNER_HOST_LABEL]: hostname() })
    // The image exists only locally: a pull would fail (no registry is reachable).
    .withPullPolicy({ shouldPull: () => false })
    .withWaitStrategy(Wait.forLogMessage("Ready to accept connections"))
    .withStartupTimeout(options.startupTimeoutMs ?? 30_000)
    .start();
  const url = `redis://127.0.0.1:${port}`;
  try {
    await waitForRedis(url, 10_000);
  } catch (err) {
    await container.stop({ timeout: 1000 }).catch(() => {});
    throw err;
  }
  return {
    url,
    kind: "testcontainers",
    detail: `container ${container.getId().slice(0, 12)} from ${image}, host network, 127.0.0.1:${port}`,
    stop: async () => {
      await container.stop({ timeout: 5000 });
    },
  };
}
