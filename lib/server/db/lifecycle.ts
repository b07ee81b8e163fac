import "server-only";
import { readServerConfig } from "../config";
import { closeDatabase, getDatabase } from "./index";

/** Where the database is, for log lines: never the URL itself, which may carry a password. */
export function describeDatabase(config: { databaseUrl?: string; dataDir: string }): string {
  if (!config.databaseUrl) return `PGlite in ${config.dataDir}`;
  try {
    const url = new URL(config.databaseUrl);
    return `PostgreSQL at ${url.hostname}${url.port ? `:${url.port}` : ""}${url.pathname}`;
  } catch {
    return "PostgreSQL (DATABASE_URL does not parse as a URL)";
  }
}

const SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;
const INSTALLED = Symbol.for("trellis.shutdownHandlers");

/** Work that must finish before the database closes at shutdown (the run recorders' flush), bounded by the caller. */
export type ShutdownStep = () => Promise<unknown>;

/**
 * Start-up of a server process: opens the database (migrations, recovery of interrupted runs) or
 * logs one line saying why it cannot and exits non-zero, so a supervisor sees the failure instead
 * of a process answering 500. Then SIGTERM/SIGINT run `beforeClose` (bounded), close the database
 * (releasing the PGlite lock) and exit.
 */
export async function startServerProcess({ beforeClose, graceMs = 10_000 }: { beforeClose?: ShutdownStep; graceMs?: number } = {}): Promise<void> {
  const config = readServerConfig();
  try {
    await getDatabase();
  } catch (error) {
    console.error(`trellis: cannot open the database (${describeDatabase(config)}): ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  const global = globalThis as Record<symbol, unknown>;
  if (global[INSTALLED]) return;
  global[INSTALLED] = true;
  let stopping = false;
  for (const [signal, code] of Object.entries(SIGNALS)) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      const deadline = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
      void Promise.race([(beforeClose?.() ?? Promise.resolve()).catch((error: Error) => console.error("trellis: flush at shutdown failed:", error.message)), deadline])
        .then(() => closeDatabase())
        .catch((error: Error) => console.error("trellis: closing the database failed:", error.message))
        .finally(() => process.exit(code));
    });
  }
}
