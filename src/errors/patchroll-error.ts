/** Stable error codes; each maps to one exit code (see `src/cli/exit-codes.ts`). */
export type ErrorCode =
  | "CONFIG_INVALID"
  | "USAGE"
  | "NOT_FOUND"
  | "REDIS_UNAVAILABLE"
  | "CONTAINER_INVALID"
  | "CONTAINER_FAILED"
  | "SNAPSHOT_FAILED"
  | "SPOOL_RECORD_INVALID"
  | "ROLLOUT_HALTED"
  | "INTERNAL";

/**
 * The one error type patchroll throws on purpose. `message` says what happened and what to do;
 * `code` is stable for scripts; `cause` keeps the underlying error.
 */
export class PatchrollError extends Error {
  override readonly name = "PatchrollError";
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True when `err` is a PatchrollError carrying `code`. */
export function isPatchrollError(err: unknown, code?: ErrorCode): err is PatchrollError {
  return err instanceof PatchrollError && (code === undefined || err.code === code);
}
