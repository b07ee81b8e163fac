import "server-only";
import { randomUUID } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, readlinkSync, rmdirSync, statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";

/**
 * One process per PGlite data directory: two would corrupt it.
 *
 * Why not `proper-lockfile`: its only staleness test is the lock's mtime, so a restart right after
 * kill -9 is refused until the stale period passes; and a pid alone is wrong too (a zombie answers
 * kill(pid, 0), and a container restart is pid 1 again). So the lock records a random token, the
 * holder's pid, host, pid namespace and the kernel's start time of that pid, and is refreshed while
 * held. The holder is gone at once when, on the same host and pid namespace, its pid no longer
 * exists, is a zombie, is a different process (another start time) or is our own pid; when the
 * process cannot be examined (another host or container), a lock not refreshed for `staleMs` is stale.
 */

type LockRecord = { token: string; pid: number; host: string; pidNamespace: string | null; startTicks: string | null };

export class DatabaseLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number | null,
  ) {
    super(
      `the data directory ${dataDir} is in use by another Trellis process${pid ? ` (pid ${pid})` : ""}; stop it, or set TRELLIS_DATA_DIR to another directory`,
    );
    this.name = "DatabaseLockedError";
  }
}

export type LockOptions = {
  /** A lock whose holder cannot be examined is stale when not refreshed for this long. */
  staleMs?: number;
  refreshMs?: number;
  /** Someone else took the lock while we held it (we stalled past `staleMs`): two writers now corrupt the data. */
  onCompromised?(error: Error): void;
};

export type DataLock = { path: string; release(): void };

const STALE_MS = 10_000;
const REFRESH_MS = 2_000;

// Locks this process holds, by path: a second open in the same process is refused as well, and the
// exit hook releases them all (a bundle-independent registry, like the process id).
const HELD = Symbol.for("trellis.dataLocks");
type Held = Map<string, { token: string; timer: ReturnType<typeof setInterval> }>;
const held = ((globalThis as Record<symbol, unknown>)[HELD] ??= new Map()) as Held;
const EXIT_HOOK = Symbol.for("trellis.dataLocks.exitHook");

function installExitHook() {
  const global = globalThis as Record<symbol, unknown>;
  if (global[EXIT_HOOK]) return;
  global[EXIT_HOOK] = true;
  // Synchronous, so it also runs when something else calls process.exit() before our async close.
  process.on("exit", () => {
    for (const path of [...held.keys()]) releasePath(path);
  });
}

function pidNamespace(pid: number | "self"): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

/** State and start time (clock ticks since boot) of a process, from /proc; null without /proc. */
function procStat(pid: number): { state: string; startTicks: string } | "missing" | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return statSafe("/proc/self/stat") ? "missing" : null;
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses: fields resume after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0] ?? "", startTicks: fields[19] ?? "" };
}

function statSafe(path: string) {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function startTicksOf(pid: number): string | null {
  const stat = procStat(pid);
  return stat && stat !== "missing" ? stat.startTicks : null;
}

function readRecord(path: string): LockRecord | null {
  try {
    const text = readFileSync(path, "utf8");
    // Written by earlier versions: just a pid, on this machine.
    if (/^\d+$/.test(text.trim())) return { token: `pid-${text.trim()}`, pid: Number(text.trim()), host: hostname(), pidNamespace: pidNamespace("self"), startTicks: null };
    const value: unknown = JSON.parse(text);
    if (value && typeof value === "object" && typeof (value as LockRecord).token === "string" && Number.isInteger((value as LockRecord).pid)) return value as LockRecord;
    return null;
  } catch {
    return null;
  }
}

/** Whether the process named by a lock is certainly alive, certainly gone, or cannot be examined from here. */
function holderState(record: LockRecord): "alive" | "gone" | "unknown" {
  if (record.host !== hostname() || !record.pidNamespace || record.pidNamespace !== pidNamespace("self")) return "unknown";
  // Same namespace, our own pid, and not in our registry: an earlier incarnation of this process (a container restart).
  if (record.pid === process.pid) return "gone";
  const stat = procStat(record.pid);
  if (stat === "missing") return "gone";
  if (stat === null) {
    try {
      process.kill(record.pid, 0);
      return "unknown";
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "ESRCH" ? "gone" : "unknown";
    }
  }
  if (stat.state === "Z" || stat.state === "X") return "gone";
  if (record.startTicks && stat.startTicks !== record.startTicks) return "gone";
  return "alive";
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Removes a stale lock, unless someone replaced it meanwhile; a guard directory makes the check-and-remove atomic among takers. */
function removeStale(path: string, staleToken: string | null, staleMs: number): void {
  const guard = `${path}.takeover`;
  try {
    mkdirSync(guard);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    // A taker that died mid-takeover leaves its guard behind.
    const age = Date.now() - (statSafe(guard)?.mtimeMs ?? Date.now());
    if (age > staleMs) rmdirSync(guard);
    return;
  }
  try {
    const current = readRecord(path);
    if ((current?.token ?? null) === staleToken) unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  } finally {
    rmdirSync(guard);
  }
}

/**
 * Takes the lock of `dataDir` (the file `<dataDir>.lock`) or throws DatabaseLockedError. A lock
 * whose holder is alive is refused at once; one whose holder cannot be examined is waited on until
 * it is stale (then taken over) or refreshed (then refused).
 */
export async function lockDataDir(dataDir: string, options: LockOptions = {}): Promise<DataLock> {
  const staleMs = options.staleMs ?? STALE_MS;
  const refreshMs = options.refreshMs ?? REFRESH_MS;
  const path = `${dataDir}.lock`;
  if (held.has(path)) throw new DatabaseLockedError(dataDir, process.pid);
  mkdirSync(dirname(path), { recursive: true });
  const record: LockRecord = { token: randomUUID(), pid: process.pid, host: hostname(), pidNamespace: pidNamespace("self"), startTicks: startTicksOf(process.pid) };
  const draft = `${path}.${record.token}`;
  writeFileSync(draft, JSON.stringify(record));
  const deadline = Date.now() + staleMs + refreshMs;
  try {
    for (;;) {
      try {
        // link() is atomic and fails when the lock exists, and the lock is never seen half written.
        linkSync(draft, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const current = readRecord(path);
      const state = current ? holderState(current) : "unknown";
      if (state === "alive") throw new DatabaseLockedError(dataDir, current?.pid ?? null);
      const age = Date.now() - (statSafe(path)?.mtimeMs ?? 0);
      if (state === "gone" || age > staleMs) {
        removeStale(path, current?.token ?? null, staleMs);
        await sleep(10);
        continue;
      }
      if (Date.now() > deadline) throw new DatabaseLockedError(dataDir, current?.pid ?? null);
      await sleep(Math.min(250, refreshMs));
    }
  } finally {
    unlinkSync(draft);
  }
  const onCompromised =
    options.onCompromised ??
    ((error: Error) => {
      console.error(`trellis: ${error.message}; exiting to protect the data`);
      process.exit(1);
    });
  const timer = setInterval(() => {
    if (readRecord(path)?.token !== record.token) {
      releasePath(path);
      onCompromised(new Error(`the lock on ${dataDir} was taken over by another process`));
      return;
    }
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch (error) {
      // A refresh that fails once is harmless; the next one or a takeover check will tell.
      console.error(`trellis: could not refresh the lock on ${dataDir}:`, (error as Error).message);
    }
  }, refreshMs);
  timer.unref();
  held.set(path, { token: record.token, timer });
  installExitHook();
  return { path, release: () => releasePath(path) };
}

function releasePath(path: string) {
  const lock = held.get(path);
  if (!lock) return;
  clearInterval(lock.timer);
  held.delete(path);
  try {
    if (readRecord(path)?.token === lock.token) unlinkSync(path);
  } catch {
    // Already gone: nothing to release.
  }
}
