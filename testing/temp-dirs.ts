import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Directories under the system's temp directory for tests, benches and the servers they start
 * (PGlite data directories, scratch apps), removed when the process that made them exits. They
 * used to stay: tens of megabytes a data directory, and a full test run left more than a gigabyte
 * in /tmp each time.
 */
const made: string[] = [];

/** A fresh directory named `prefix` + random characters, removed when this process exits. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (!made.length) process.once("exit", removeTempDirs);
  made.push(dir);
  return dir;
}

/** Removes every directory tempDir made so far (also done at exit); one that cannot be removed is left. */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Still in use in a way removal cannot undo (a mount point): left to the system's temp cleaning.
    }
  }
}
