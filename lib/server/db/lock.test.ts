import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readlinkSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DatabaseLockedError, lockDataDir, type DataLock } from "./lock";
import { tempDir } from "@/testing/temp-dirs";

/** The PGlite data-directory lock: refused while its holder lives, taken over at once when it is provably gone. */

const hasProc = existsSync("/proc/self/stat");
const newDir = () => join(tempDir("trellis-lock-"), "data");
const startTicks = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
};
const procState = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
};
/** A lock file as another process on this machine would have written it. */
function writeLock(dir: string, record: { pid: number; startTicks?: string | null; host?: string; pidNamespace?: string | null; token?: string }) {
  writeFileSync(
    `${dir}.lock`,
    JSON.stringify({
      token: record.token ?? "someone-else",
      pid: record.pid,
      host: record.host ?? hostname(),
      pidNamespace: record.pidNamespace === undefined ? readlinkSync("/proc/self/ns/pid") : record.pidNamespace,
      startTicks: record.startTicks === undefined ? startTicks(record.pid) : record.startTicks,
    }),
  );
}

const children: ChildProcess[] = [];
const locks: DataLock[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const lock of locks.splice(0)) lock.release();
});

function sleeper(): ChildProcess {
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  children.push(child);
  return child;
}

async function take(dir: string, options?: Parameters<typeof lockDataDir>[1]) {
  const lock = await lockDataDir(dir, options);
  locks.push(lock);
  return lock;
}

describe.skipIf(!hasProc)("data directory lock", () => {
  it("refuses at once while the holder is alive, naming its pid", async () => {
    const dir = newDir();
    const holder = sleeper();
    await new Promise((resolve) => holder.once("spawn", resolve));
    writeLock(dir, { pid: holder.pid! });
    const started = Date.now();
    await expect(lockDataDir(dir)).rejects.toThrow(DatabaseLockedError);
    await expect(lockDataDir(dir)).rejects.toThrow(`in use by another Trellis process (pid ${holder.pid})`);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("takes over at once the lock of a process that has exited", async () => {
    const dir = newDir();
    const gone = spawn("true");
    await new Promise((resolve) => gone.once("exit", resolve));
    writeLock(dir, { pid: gone.pid!, startTicks: "1" });
    const started = Date.now();
    const lock = await take(dir);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(JSON.parse(readFileSync(lock.path, "utf8"))).toMatchObject({ pid: process.pid });
  });

  it("takes over at once the lock of a zombie (killed but not yet reaped), which kill(pid, 0) still counts as alive", async () => {
    const dir = newDir();
    // The shell's child exits at once; the shell becomes `sleep`, which never reaps it.
    const parent = spawn("sh", ["-c", "sleep 0 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
    children.push(parent);
    const zombie = Number(await new Promise<string>((resolve) => parent.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString()))));
    for (let i = 0; i < 100 && procState(zombie) !== "Z"; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(procState(zombie)).toBe("Z");
    expect(() => process.kill(zombie, 0)).not.toThrow();
    writeLock(dir, { pid: zombie });
    const started = Date.now();
    await take(dir);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("takes over a lock whose pid now belongs to another process (a different start time)", async () => {
    const dir = newDir();
    writeLock(dir, { pid: process.ppid, startTicks: "12345" });
    await take(dir);
  });

  it("takes over a lock carrying its own pid but another token: an earlier incarnation (a container restarted as pid 1)", async () => {
    const dir = newDir();
    writeLock(dir, { pid: process.pid, token: "previous-boot" });
    await take(dir);
  });

  it("reads the pid-only lock files of earlier versions", async () => {
    const dir = newDir();
    writeFileSync(`${dir}.lock`, String(process.ppid));
    await expect(lockDataDir(dir)).rejects.toThrow(DatabaseLockedError);
    writeFileSync(`${dir}.lock`, "999999");
    await take(dir);
  });

  it("waits on a holder it cannot examine (another host): refused while it is refreshed, taken over once it is not", async () => {
    const dir = newDir();
    writeLock(dir, { pid: 1, host: "another-host", startTicks: null });
    const refresher = setInterval(() => utimesSync(`${dir}.lock`, new Date(), new Date()), 50);
    const started = Date.now();
    await expect(lockDataDir(dir, { staleMs: 400, refreshMs: 100 })).rejects.toThrow(DatabaseLockedError);
    clearInterval(refresher);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    await take(dir, { staleMs: 400, refreshMs: 100 });
  });

  it("refreshes the lock while held, refuses a second holder in the same process, and removes the file on release", async () => {
    const dir = newDir();
    const lock = await take(dir, { refreshMs: 50 });
    const past = new Date(Date.now() - 60_000);
    utimesSync(lock.path, past, past);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(Date.now() - statSync(lock.path).mtimeMs).toBeLessThan(1_000);
    await expect(lockDataDir(dir)).rejects.toThrow(DatabaseLockedError);
    lock.release();
    expect(existsSync(lock.path)).toBe(false);
    await take(dir);
  });

  it("reports a lock taken over behind its back", async () => {
    const dir = newDir();
    const compromised: Error[] = [];
    const lock = await take(dir, { refreshMs: 50, onCompromised: (error) => compromised.push(error) });
    writeLock(dir, { pid: process.ppid, token: "thief" });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(compromised[0]?.message).toMatch(/taken over/);
    // Releasing never removes someone else's lock.
    lock.release();
    expect(existsSync(lock.path)).toBe(true);
  });
});
