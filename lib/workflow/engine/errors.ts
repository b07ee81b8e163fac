/** A node failure with a code the UI can map and a message that names no secret. */
export class NodeError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  constructor(code: string, message: string, retryable = false) {
    super(message);
    this.name = "NodeError";
    this.code = code;
    this.retryable = retryable;
  }
}

/** A per-run limit was exceeded: codes are `limit:<name>`. */
export class LimitError extends NodeError {
  constructor(limit: string, message: string) {
    super(`limit:${limit}`, message, false);
    this.name = "LimitError";
  }
}

export class CancelledError extends Error {
  constructor() {
    super("cancelled");
    this.name = "CancelledError";
  }
}
