import "server-only";
import { randomUUID } from "node:crypto";

// Next.js bundles this module into several server chunks (route handlers, actions, pages), each
// evaluating it anew: a module-level randomUUID() gave one process several identities, so its own
// heartbeat did not cover its runs. The id lives on globalThis, like the live-run registry.
const KEY = Symbol.for("trellis.processId");

/** This server process; runs it starts carry it, so a restart can tell which runs were orphaned. */
export const PROCESS_ID: string = ((globalThis as Record<symbol, unknown>)[KEY] ??= randomUUID()) as string;
