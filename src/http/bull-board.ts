import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import type { FastifyInstance } from "fastify";
import type { Queues } from "../queue/queues.js";

export const BULL_BOARD_PATH = "/queues";

/**
 * Mounts bull-board for the host's queues at /queues, read-only: bull-board has no authentication of its
 * own, and its UI's own requests could only carry our session cookie (cookie-only auth is what CSRF
 * abuses). Job actions go through `patchroll jobs retry|remove` or the token API; the dashboard's global
 * guard refuses any non-GET request under /queues without the token as well.
 */
export async function mountBullBoard(app: FastifyInstance, queues: Queues, hostId: string): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: Object.values(queues).map((q) => new BullMQAdapter(q, { readOnlyMode: true })),
    // @bull-board/fastify 9.10.1 types against its own copy of @bull-board/api 9.10.1; same interface.
    serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]["serverAdapter"],
    options: { uiConfig: { boardTitle: `patchroll ${hostId}` } },
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
}
