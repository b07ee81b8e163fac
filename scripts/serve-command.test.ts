import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { productionBuildState } from "./serve-command";
import { tempDir } from "@/testing/temp-dirs";

/** A file at `path` under `dir`, last modified `secondsAgo` ago. */
function file(dir: string, path: string, secondsAgo: number) {
  const full = join(dir, path);
  mkdirSync(join(full, ".."), { recursive: true });
  writeFileSync(full, "x");
  const when = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(full, when, when);
}

describe("productionBuildState", () => {
  it("is missing without a build, stale when a source file changed after it, current otherwise", () => {
    const app = tempDir("trellis-build-state-");
    file(app, "lib/server/db/connect.ts", 300);
    file(app, "app/page.tsx", 300);
    expect(productionBuildState(app)).toBe("missing");
    file(app, ".next/BUILD_ID", 200);
    expect(productionBuildState(app)).toBe("current");
    // A file deep in lib/ changed after the build: the database client runs from the build.
    file(app, "lib/server/db/connect.ts", 100);
    expect(productionBuildState(app)).toBe("stale");
    file(app, ".next/BUILD_ID", 50);
    expect(productionBuildState(app)).toBe("current");
    // So do the files at the root that next build reads.
    file(app, "next.config.js", 10);
    expect(productionBuildState(app)).toBe("stale");
  });

  it("ignores what next build does not read", () => {
    const app = tempDir("trellis-build-state-");
    file(app, "lib/workflow/run.ts", 300);
    file(app, ".next/BUILD_ID", 200);
    file(app, "scripts/bench-server.ts", 10);
    file(app, "e2e/run.spec.ts", 10);
    expect(productionBuildState(app)).toBe("current");
  });
});
