import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/** The layers of docs/architecture.md §1, checked on the real import graph (runtime imports; `import type` is erased). */

const ROOT = resolve(__dirname, "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx)$/.test(name) && !/\.test\.tsx?$/.test(name) ? [path] : [];
  });
}

const IMPORT = /^\s*(?:import|export)\s+(?!type\b)(?:[^"';]*?\bfrom\s+)?["']([^"']+)["']/gm;

function runtimeImports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return [...text.matchAll(IMPORT)].map((m) => m[1]);
}

/** Resolves a relative or `@/` import to a repository path without extension. */
function target(file: string, specifier: string): string | null {
  if (specifier.startsWith("@/")) return specifier.slice(2);
  if (specifier.startsWith(".")) return relative(ROOT, resolve(ROOT, dirname(file), specifier));
  return null;
}

// papaparse: the dataset importer's CSV reader (string in, rows out; no I/O).
const ALLOWED_CORE_PACKAGES = new Set(["zod", "mustache", "re2js", "papaparse"]);

describe("layer boundaries", () => {
  const core = sourceFiles("lib/workflow");

  it("keeps lib/workflow pure: only itself, zod, mustache, re2js and papaparse", () => {
    const offending = core.flatMap((file) =>
      runtimeImports(file)
        .filter((spec) => {
          const local = target(file, spec);
          return local ? !local.startsWith("lib/workflow") : !ALLOWED_CORE_PACKAGES.has(spec);
        })
        .map((spec) => `${file} imports ${spec}`),
    );
    expect(offending).toEqual([]);
  });

  it("never reads the environment in the core", () => {
    expect(core.filter((file) => /\bprocess\.env\b/.test(readFileSync(join(ROOT, file), "utf8")))).toEqual([]);
  });

  it("reads the environment in exactly one server module", () => {
    const server = sourceFiles("lib/server");
    expect(server.filter((file) => /\bprocess\.env\b/.test(readFileSync(join(ROOT, file), "utf8")))).toEqual(["lib/server/config.ts"]);
  });

  it("marks every server module that touches configuration as server-only", () => {
    const server = sourceFiles("lib/server").filter((file) => /config|registry|port|models\/index/.test(file));
    expect(server.filter((file) => !readFileSync(join(ROOT, file), "utf8").includes('import "server-only"'))).toEqual([]);
  });

  it("has no import cycles in the core", () => {
    const graph = new Map<string, string[]>();
    const normalise = (path: string) => path.replace(/\.(ts|tsx)$/, "").replace(/\/index$/, "");
    for (const file of core) {
      graph.set(
        normalise(file),
        runtimeImports(file)
          .map((spec) => target(file, spec))
          .filter((t): t is string => t !== null && t.startsWith("lib/workflow"))
          .map(normalise),
      );
    }
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (node: string, path: string[]) => {
      if (state.get(node) === "done") return;
      if (state.get(node) === "visiting") {
        cycles.push([...path.slice(path.indexOf(node)), node].join(" → "));
        return;
      }
      state.set(node, "visiting");
      for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
      state.set(node, "done");
    };
    for (const node of graph.keys()) visit(node, []);
    expect(cycles).toEqual([]);
  });
});
