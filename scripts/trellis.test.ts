import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunEvent } from "@/lib/workflow";
import { tempDir } from "@/testing/temp-dirs";

/** The CLI as people run it: a real process, real exit codes. */

type Result = { code: number | null; stdout: string; stderr: string };

function trellis(args: string[], env: Record<string, string> = {}, onStdout?: (text: string, kill: () => void) => void): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions=react-server", "scripts/trellis.ts", ...args], {
      env: { ...process.env, NO_COLOR: "1", TRELLIS_DEMO_FIRST_TOKEN_MS: "0", TRELLIS_DEMO_CHUNK_MS: "0", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      onStdout?.(stdout, () => child.kill("SIGINT"));
    });
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const tmp = tempDir("trellis-cli-");

describe("trellis run", () => {
  it("streams each node's output under its label, then prints the final state; exit 0", async () => {
    const { code, stdout } = await trellis(["run", "evaluator-optimizer", "--input", "topic=otters"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/┃ Generate joke\n.*otters/);
    expect(stdout).toMatch(/⟲ Is it funny\? → Generate joke, iteration 2/);
    expect(stdout).toMatch(/Final state\ntopic:\n {2}otters\n\njoke:\n/);
    expect(stdout).toMatch(/funny_or_not:\n {2}pass/);
    expect(stdout).toMatch(/succeeded in/);
  });

  it("labels worker instances", async () => {
    const { code, stdout } = await trellis(["run", "orchestrator-worker", "--input", "topic=tides"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/┃ Write section #1 \(Introduction\)/);
    expect(stdout).toMatch(/final_report:\n {2}## Introduction/);
  });

  it("prints events as NDJSON with --json", async () => {
    const { code, stdout } = await trellis(["run", "routing", "--json", "--input", "input=a poem about snow"]);
    expect(code).toBe(0);
    const events = stdout.trim().split("\n").map((line) => JSON.parse(line) as RunEvent);
    expect(events[0].type).toBe("run-started");
    expect(events.some((e) => e.type === "node-delta")).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: "run-finished", status: "succeeded", outputs: { decision: "poem" } });
  });

  it("exits 1 when the run fails, with the node's error", async () => {
    const { code, stdout } = await trellis(["run", "parallelization", "--input", "topic=x"], {
      TRELLIS_DEMO_FAULTS: JSON.stringify([{ kind: "server-error", match: "poem" }]),
      TRELLIS_DEMO_FIRST_TOKEN_MS: "0",
    });
    expect(code).toBe(1);
    expect(stdout).toMatch(/✗ Write a poem: .*HTTP 500/);
    expect(stdout).toMatch(/failed in/);
  });

  it("cancels cleanly on Ctrl-C: exit 1, status cancelled, partial output kept", async () => {
    let sent = false;
    const { code, stdout } = await trellis(["run", "parallelization"], { TRELLIS_DEMO_CHUNK_MS: "200" }, (text, kill) => {
      if (!sent && text.includes("┃")) {
        sent = true;
        kill();
      }
    });
    expect(code).toBe(1);
    expect(stdout).toMatch(/┃ Write a/);
    expect(stdout).toMatch(/■ .* cancelled/);
    expect(stdout).toMatch(/cancelled in/);
  });

  it("exits 2 for an invalid document and prints each issue with its path", async () => {
    const file = join(tmp, "bad.json");
    writeFileSync(file, JSON.stringify({ format: "trellis.workflow", version: 1, name: "x", inputs: [], nodes: [{ id: "a", kind: "magic" }], edges: [] }));
    const { code, stderr } = await trellis(["run", file]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/error at nodes\[0\]\.kind: unknown node kind "magic"/);
  });

  it("exits 2 before any call when a model is not configured, pointing at the demo model", async () => {
    const { code, stderr } = await trellis(["run", "routing", "--model", "openai:gpt-4o-mini"], { OPENAI_API_KEY: "" });
    expect(code).toBe(2);
    expect(stderr).toMatch(/model "openai:gpt-4o-mini" is not configured/);
    expect(stderr).toMatch(/--model demo:default/);
  });

  it("exits 2 for an unknown input", async () => {
    const { code, stdout } = await trellis(["run", "routing", "--input", "colour=blue"]);
    expect(code).toBe(2);
    expect(stdout).toMatch(/"colour" is not an input of this workflow/);
  });
});

describe("trellis validate", () => {
  it("says valid for a template", async () => {
    const { code, stdout } = await trellis(["validate", "orchestrator-worker"]);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe("valid");
  });

  it("lists graph errors and exits 2", async () => {
    const file = join(tmp, "cycle.json");
    writeFileSync(
      file,
      JSON.stringify({
        format: "trellis.workflow",
        version: 1,
        name: "Loop",
        inputs: [],
        nodes: [
          { id: "in", kind: "input", label: "In", position: { x: 0, y: 0 }, config: {} },
          { id: "a", kind: "llm", label: "A", position: { x: 0, y: 0 }, config: { outputKey: "a", prompt: "{{b}}" } },
          { id: "b", kind: "llm", label: "B", position: { x: 0, y: 0 }, config: { outputKey: "b", prompt: "{{a}}" } },
        ],
        edges: [
          { id: "e1", source: "in", sourcePort: "out", target: "a", targetPort: "in" },
          { id: "e2", source: "a", sourcePort: "out", target: "b", targetPort: "in" },
          { id: "e3", source: "b", sourcePort: "out", target: "a", targetPort: "in" },
        ],
      }),
    );
    const { code, stdout } = await trellis(["validate", file]);
    expect(code).toBe(2);
    expect(stdout).toMatch(/cycle a → b → a is not closed/);
  });
});

describe("trellis plan and advise", () => {
  it("plans a workflow from a task, explains the topology and writes a document that runs", async () => {
    const file = join(tmp, "planned.json");
    const planned = await trellis(["plan", "Write a haiku, a limerick and a short story about autumn", "--out", file]);
    expect(planned.code).toBe(0);
    expect(planned.stderr).toMatch(/^3 subtasks, width 3, depth 1, coupling 0\.00 → parallel/);
    expect(planned.stderr).toMatch(/1\. Haiku\n {2}2\. Limerick\n/);
    const ran = await trellis(["run", file, "--model", "demo:fast"]);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/agreement:\n/);
  });

  it("prints the document to stdout without --out, and refuses an unconfigured model", async () => {
    const planned = await trellis(["plan", "Outline a talk, then write it"]);
    expect(planned.code).toBe(0);
    expect(JSON.parse(planned.stdout)).toMatchObject({ format: "trellis.workflow", inputs: [{ key: "task" }] });
    const refused = await trellis(["plan", "Outline a talk", "--model", "openai:gpt-4o"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not configured/);
  });

  it("advises on a template with evidence, source and the fix", async () => {
    const { code, stdout } = await trellis(["advise", "parallelization"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^3 model steps, width 3, depth 1, coupling 0\.00 by data dependency → parallel/);
    expect(stdout).toMatch(/1\. Parallel results are merged without a check\n {3}nodes: n_aggregate \(Combine\)/);
    expect(stdout).toMatch(/source: Kim et al\./);
    expect(stdout).toMatch(/- turn on the agreement check of “Combine”/);
  });

  it("times the advice with a recorded run, and prints JSON with --json", async () => {
    const file = join(tmp, "chain.json");
    const node = (id: string, prompt: string) => ({ id, kind: "llm", label: id.toUpperCase(), position: { x: 0, y: 0 }, config: { outputKey: id, prompt } });
    writeFileSync(
      file,
      JSON.stringify({
        format: "trellis.workflow",
        version: 1,
        name: "Chain",
        inputs: [{ key: "topic", label: "Topic", type: "text", default: "otters" }],
        nodes: [{ id: "in", kind: "input", label: "In", position: { x: 0, y: 0 }, config: {} }, node("a", "A joke about {{topic}}"), node("b", "A poem about {{topic}}"), { id: "out", kind: "output", label: "Out", position: { x: 0, y: 0 }, config: { keys: ["a", "b"] } }],
        edges: [
          { id: "e1", source: "in", sourcePort: "out", target: "a", targetPort: "in" },
          { id: "e2", source: "a", sourcePort: "out", target: "b", targetPort: "in" },
          { id: "e3", source: "b", sourcePort: "out", target: "out", targetPort: "in" },
        ],
      }),
    );
    const events = join(tmp, "chain.ndjson");
    writeFileSync(events, [{ type: "node-finished", nodeId: "a", ms: 2000 }, { type: "node-finished", nodeId: "b", ms: 3000 }].map((e) => JSON.stringify(e)).join("\n"));
    const { code, stdout } = await trellis(["advise", file, "--run", events, "--json"]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { advice: Array<{ kind: string; evidence: string; fix: { document: unknown } }> };
    expect(report.advice[0].kind).toBe("parallelisable");
    expect(report.advice[0].evidence).toContain("it would have taken 3.0 s instead of 5.0 s");
    expect(report.advice[0].fix.document).toMatchObject({ format: "trellis.workflow" });
  });
});
