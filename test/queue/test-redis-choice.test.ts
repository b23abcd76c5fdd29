import { describe, expect, it } from "vitest";
import { chooseTestRedis } from "../helpers/redis-server.js";

const docker = (reachable: boolean) => async () => reachable;
const noDockerCheck = async (): Promise<boolean> => {
  throw new Error("Docker must not be asked");
};

describe("which Redis the tests use", () => {
  it("takes REDIS_URL first, without asking Docker", async () => {
    expect(await chooseTestRedis({ forced: undefined, redisUrl: "redis://127.0.0.1:6379/15", dockerReachable: noDockerCheck })).toBe("env");
  });

  it("takes testcontainers when Docker answers, else spawns redis-server", async () => {
    expect(await chooseTestRedis({ forced: undefined, redisUrl: undefined, dockerReachable: docker(true) })).toBe("testcontainers");
    expect(await chooseTestRedis({ forced: "", redisUrl: "", dockerReachable: docker(false) })).toBe("spawn");
  });

  it("follows PATCHROLL_TEST_REDIS over everything else", async () => {
    expect(await chooseTestRedis({ forced: "spawn", redisUrl: "redis://x:1", dockerReachable: noDockerCheck })).toBe("spawn");
    expect(await chooseTestRedis({ forced: "testcontainers", redisUrl: "redis://x:1", dockerReachable: noDockerCheck })).toBe("testcontainers");
    expect(await chooseTestRedis({ forced: "env", redisUrl: undefined, dockerReachable: noDockerCheck })).toBe("env");
  });

  it("rejects an unknown PATCHROLL_TEST_REDIS with the allowed values", async () => {
    await expect(chooseTestRedis({ forced: "docker", redisUrl: undefined, dockerReachable: docker(true) })).rejects.toThrow(/spawn, testcontainers, env/);
  });
});
