import "server-only";
import { DatabaseLockedError } from "./lock";

/** The database cannot be reached (down, restarting, out of disk or connections): the request may succeed later, nothing was changed. */
export class DatabaseUnavailableError extends Error {
  readonly code = "database-unavailable";
  constructor(cause?: unknown) {
    super(unavailableMessage(cause), { cause });
    this.name = "DatabaseUnavailableError";
  }
}

// Out of disk: the OS's ENOSPC, PostgreSQL's disk_full (53100), or what PGlite's file system says.
const DISK_FULL_MESSAGE = /No space left on device|could not extend file|disk full/i;

/** Whether the database failed because its disk is full (nothing a retry in a moment will fix). */
export function isDiskFull(error: unknown): boolean {
  for (const link of chain(error)) {
    const code = codeOf(link);
    if (code === "ENOSPC" || code === "53100") return true;
    if (link instanceof Error && DISK_FULL_MESSAGE.test(link.message)) return true;
  }
  return false;
}

/** What a person is told when the database refused their change: a full disk is said as such, not as "could not reach". */
export function unavailableMessage(cause?: unknown): string {
  return isDiskFull(cause)
    ? "the server's disk is full, so nothing was saved; your draft is kept (whoever runs this server must free space)"
    : "could not reach the database; your draft is kept";
}

/** An error and the errors it wraps: Drizzle reports a failed query as DrizzleQueryError whose `cause` is the driver's error. */
function* chain(error: unknown): Generator<unknown> {
  let current = error;
  for (let depth = 0; depth < 8 && current; depth++) {
    yield current;
    if (current instanceof AggregateError) yield* current.errors;
    current = (current as { cause?: unknown }).cause;
  }
}

const codeOf = (error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
};

/** The PostgreSQL SQLSTATE of a database error, wherever it sits in the chain. */
export function sqlState(error: unknown): string | undefined {
  for (const link of chain(error)) {
    const code = codeOf(link);
    if (code && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** The driver's own message, without Drizzle's "Failed query: … params: …" (which can hold a whole document). */
export function databaseErrorMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  for (const link of chain(error)) if (link instanceof Error && !link.message.startsWith("Failed query:")) message = link.message;
  return message;
}

const NETWORK = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ENOSPC"]);
// Connection exceptions (08), insufficient resources such as a full disk (53), shutdowns and restarts (57P01-57P03).
const UNAVAILABLE_STATE = /^(08|53|57P0[1-3])/;
const UNAVAILABLE_MESSAGE = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end|PGlite is closed/i;

/** Whether an error means "the database is not there right now" rather than "this request is wrong". */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const link of chain(error)) {
    if (link instanceof DatabaseUnavailableError || link instanceof DatabaseLockedError) return true;
    const code = codeOf(link);
    if (code && (NETWORK.has(code) || UNAVAILABLE_STATE.test(code))) return true;
    if (link instanceof Error && (UNAVAILABLE_MESSAGE.test(link.message) || DISK_FULL_MESSAGE.test(link.message))) return true;
  }
  return false;
}
