import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findTemplate } from "@/lib/workflow";
import { tempDir } from "@/testing/temp-dirs";

/** `trellis eval` as CI runs it: a real process, real exit codes, JSON on stdout with --json. */

type Result = { code: number | null; stdout: string; stderr: string };

function trellis(args: string[], env: Record<string, string> = {}, onStderr?: (text: string, interrupt: () => void) => void): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions=react-server", "scripts/trellis.ts", ...args], {
      env: { ...process.env, NO_COLOR: "1", TRELLIS_DEMO_FIRST_TOKEN_MS: "0", TRELLIS_DEMO_CHUNK_MS: "0", OPENAI_API_KEY: "", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      onStderr?.(stderr, () => child.kill("SIGINT"));
    });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const tmp = tempDir("trellis-eval-");
const file = (name: string, text: string) => {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
};

const rows = file("rows.csv", "id,topic\r\notters,otters\r\npenguins,penguins\r\nsnow,\"snow, \"\"deep\"\"\"\r\n");
const assertions = file(
  "assertions.json",
  JSON.stringify({
    assertions: [
      { id: "has-poem", key: "combined_output", kind: "contains", value: "POEM", ignoreCase: true },
      { id: "mentions-otters", key: "combined_output", kind: "contains", value: "otters" },
      { id: "has-story", key: "combined_output", kind: "judge", rubric: 'Contains a "story".' },
    ],
  }),
);

type JsonReport = {
  rows: Array<{ id: string; index: number; runId: string; status: string; pass: boolean; verdicts: Array<{ assertionId: string; pass: boolean; reason: string; model?: string; usage?: { inputTokens: number; outputTokens: number } }>; outputs: Record<string, unknown>; latencyMs: number; usage: { inputTokens: number; outputTokens: number }; costUsd: number | null }>;
  summary: { rows: number; finished: number; passed: number; passRate: number; perAssertion: Array<{ assertionId: string; passRate: number }>; costUsd: number | null };
};

describe("trellis eval", () => {
  it("prints a table and a summary; exit 0 when the pass rate meets --min-pass-rate", async () => {
    const { code, stdout } = await trellis(["eval", "parallelization", "--dataset", rows, "--assert", assertions, "--min-pass-rate", "0.3", "--concurrency", "2"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^row\s+result\s+has-poem\s+mentions-otters\s+has-story\s+latency\s+tokens\n/);
    expect(stdout).toMatch(/\notters\s+pass\s+✓\s+✓\s+✓\s+\d+ ms\s+\d+\n/);
    expect(stdout).toMatch(/\npenguins\s+FAIL\s+✓\s+✗\s+✓ /);
    expect(stdout).toContain('  penguins · mentions-otters: expected to contain "otters"; it does not\n');
    expect(stdout).toMatch(/rows passed {4}1\/3 \(33\.3%\)/);
    expect(stdout).toMatch(/cost {11}\$0\n/);
    expect(stdout).toMatch(/\npassed: 33\.3% of rows pass \(at least 30\.0% required\)\n$/);
  });

  it("exits 1 below the threshold (1.0 by default); --json prints only { rows, summary }", async () => {
    const { code, stdout, stderr } = await trellis(["eval", "parallelization", "--dataset", rows, "--assert", assertions, "--json"]);
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as JsonReport;
    expect(Object.keys(report)).toEqual(["rows", "summary"]);
    expect(report.rows.map((r) => [r.id, r.index, r.status, r.pass])).toEqual([
      ["otters", 0, "succeeded", true],
      ["penguins", 1, "succeeded", false],
      ["snow", 2, "succeeded", false],
    ]);
    expect(report.rows[1].verdicts).toEqual([
      { assertionId: "has-poem", pass: true, reason: 'contains "POEM"' },
      { assertionId: "mentions-otters", pass: false, reason: 'expected to contain "otters"; it does not' },
      { assertionId: "has-story", pass: true, reason: 'It mentions "story".', score: 1, model: "demo:default", usage: expect.objectContaining({ inputTokens: expect.any(Number) }) },
    ]);
    expect(report.rows[2].outputs.combined_output).toContain('snow, "deep"');
    expect(report.rows[0].runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(report.rows[0].costUsd).toBe(0);
    expect(report.summary).toMatchObject({ rows: 3, finished: 3, passed: 1, costUsd: 0 });
    expect(report.summary.perAssertion.map((a) => [a.assertionId, a.passRate])).toEqual([
      ["has-poem", 1],
      ["mentions-otters", 1 / 3],
      ["has-story", 1],
    ]);
    // A line per finished row on stderr (for CI logs), then why it failed.
    expect(stderr.split("\n").filter((line) => line.startsWith("["))).toHaveLength(3);
    expect(stderr).toMatch(/^\[1\/3\] \S+ (pass|FAIL) \d+ ms\n/);
    expect(stderr).toMatch(/\npass rate 33\.3% is below the required 100%\n$/);
  });

  it("takes a JSONL dataset with its rows' own assertions and expected values", async () => {
    const jsonl = file(
      "routing.jsonl",
      [
        JSON.stringify({ id: "poem", inputs: { input: "a poem about snow" }, expected: { decision: "poem" } }),
        JSON.stringify({ input: "a story about otters", expected: { decision: "story" }, assertions: [{ id: "otters", key: "output", kind: "contains", value: "otters", ignoreCase: true }] }),
      ].join("\n"),
    );
    const routed = file("routed.json", JSON.stringify([{ id: "routed", key: "decision", kind: "equals" }]));
    const { code, stdout } = await trellis(["eval", "routing", "--dataset", jsonl, "--assert", routed, "--json"]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as JsonReport;
    expect(report.rows.map((r) => [r.id, r.verdicts.map((v) => `${v.assertionId}:${v.pass}`)])).toEqual([
      ["poem", ["routed:true"]],
      ["r1", ["routed:true", "otters:true"]],
    ]);
  });

  it("--model demo:… runs everything offline, an aggregate's embedding model included", async () => {
    const document = structuredClone(findTemplate("parallelization")!.json) as { nodes: Array<{ kind: string; config: Record<string, unknown> }> };
    for (const node of document.nodes) if (node.kind === "aggregate") node.config.agreement = { key: "agreement", embeddingModel: "openai:text-embedding-3-small" };
    const path = file("with-embeddings.json", JSON.stringify(document));
    expect((await trellis(["eval", path, "--dataset", rows])).code).toBe(2);
    const offline = await trellis(["eval", path, "--dataset", rows, "--model", "demo:fast", "--json"]);
    expect(offline.code).toBe(0);
    expect((JSON.parse(offline.stdout) as JsonReport).summary).toMatchObject({ rows: 3, passed: 3 });
  });

  it("--model and --embedding-model replace the models the assertions name too: judges and embedding similarity", async () => {
    const named = file(
      "named-models.json",
      JSON.stringify([
        { id: "judged", key: "combined_output", kind: "judge", rubric: "Has a poem.", model: "openai:gpt-4o" },
        { id: "near", key: "combined_output", kind: "similar", method: "embedding", model: "openai:text-embedding-3-small", reference: "a poem and a story", threshold: 0 },
      ]),
    );
    // As written, those models are not configured here: refused before anything runs.
    expect((await trellis(["eval", "parallelization", "--dataset", rows, "--assert", named])).code).toBe(2);
    const offline = await trellis(["eval", "parallelization", "--dataset", rows, "--assert", named, "--model", "demo:fast", "--min-pass-rate", "0", "--json"]);
    expect(offline.code).toBe(0);
    const report = JSON.parse(offline.stdout) as JsonReport;
    for (const row of report.rows) {
      expect(row.verdicts.find((v) => v.assertionId === "judged")).toMatchObject({ model: "demo:fast" });
      // demo:embed reports the tokens it counted: they are part of the row's tokens.
      expect(row.verdicts.find((v) => v.assertionId === "near")).toMatchObject({ model: "demo:embed", usage: { inputTokens: expect.any(Number), outputTokens: 0 } });
    }
    // --embedding-model alone: the workflow's language models stay, every embedding model is the one named.
    const document = structuredClone(findTemplate("parallelization")!.json) as { nodes: Array<{ kind: string; config: Record<string, unknown> }> };
    for (const node of document.nodes) if (node.kind === "aggregate") node.config.agreement = { key: "agreement", embeddingModel: "openai:text-embedding-3-small" };
    const path = file("embeddings-only.json", JSON.stringify(document));
    const embedded = await trellis(["eval", path, "--dataset", rows, "--assert", named, "--embedding-model", "demo:embed", "--min-pass-rate", "0", "--json"]);
    // The judge still names openai:gpt-4o, which --embedding-model leaves alone.
    expect(embedded.code).toBe(2);
    expect(embedded.stderr).toMatch(/^assertion "judged": judge model openai:gpt-4o: /);
    const nearOnly = file("near-only.json", JSON.stringify([{ id: "near", key: "combined_output", kind: "similar", method: "embedding", model: "openai:text-embedding-3-small", reference: "a poem", threshold: 0 }]));
    const ok = await trellis(["eval", path, "--dataset", rows, "--assert", nearOnly, "--embedding-model", "demo:embed", "--json"]);
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.stdout) as JsonReport).rows[0].verdicts).toEqual([expect.objectContaining({ assertionId: "near", model: "demo:embed" })]);
  });

  it("Ctrl-C cancels: running rows stop, the finished row is kept and reported; exit 1", async () => {
    // Every model call for the other two rows hangs until the cancel reaches it.
    const faults = [{ kind: "hang", match: "penguins" }, { kind: "hang", match: "snow" }];
    let interrupted = false;
    const { code, stdout, stderr } = await trellis(["eval", "parallelization", "--dataset", rows, "--assert", assertions, "--json", "--concurrency", "3"], { TRELLIS_DEMO_FAULTS: JSON.stringify(faults) }, (text, interrupt) => {
      if (!interrupted && text.includes("] otters pass")) {
        interrupted = true;
        interrupt();
      }
    });
    expect(code).toBe(1);
    expect(stderr).toContain("Cancelling… finished rows are kept");
    const report = JSON.parse(stdout) as JsonReport;
    expect(report.rows.map((r) => [r.id, r.pass])).toEqual([["otters", true]]);
    expect(report.summary).toMatchObject({ rows: 3, finished: 1, passed: 1 });
    expect(stderr).toMatch(/\ncancelled\n$/);
  });

  it("exits 2 for a dataset that does not fit, naming the row and column; nothing runs", async () => {
    const bad = file("bad.csv", "topic,colour\nowls,brown\n");
    const { code, stdout, stderr } = await trellis(["eval", "parallelization", "--dataset", bad]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toBe(`${bad}: row 1, column "colour": "colour" is not an input of this workflow; its inputs are topic ("Topic") (reference values go in "expected.<key>" columns).\n`);
  });

  it("exits 2 for bad assertions, naming each by its path", async () => {
    const bad = file("bad-assertions.json", JSON.stringify([{ id: "x", key: "combined_outptu", kind: "length_between", min: 9, max: 3 }]));
    const { code, stderr } = await trellis(["eval", "parallelization", "--dataset", rows, "--assert", bad]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${bad}: assertions[0].key "combined_outptu" is not produced by this workflow`);
    expect(stderr).toContain(`${bad}: assertions[0].min min (9) is above max (3)`);
  });

  /** Invalid input, each a process of its own: the arguments after `eval`, and what stderr starts with. */
  const invalid: Array<[string, () => string[], RegExp]> = [
    ["a concurrency of 0", () => ["parallelization", "--dataset", rows, "--concurrency", "0"], /^--concurrency must be a whole number from 1 to 32 \(got "0"\)/],
    ["a pass rate in percent", () => ["parallelization", "--dataset", rows, "--min-pass-rate", "90%"], /^--min-pass-rate must be a number from 0 to 1 \(got "90%"\)/],
    ["a negative price", () => ["parallelization", "--dataset", rows, "--prices", file("prices.json", '{"acme:x":{"inputPerMTok":-1,"outputPerMTok":0}}')], /^"acme:x\.inputPerMTok": /],
    ["an unconfigured model", () => ["parallelization", "--dataset", rows, "--model", "openai:gpt-4o-mini"], /^error at node "n_joke": [\s\S]*\nEvaluate it with the offline demo model instead: --model demo:fast/],
    ["an unknown flag", () => ["parallelization", "--dataset", rows, "--bogus"], /^Unknown option '--bogus'/],
    ["an --embedding-model that is not configured", () => ["parallelization", "--dataset", rows, "--embedding-model", "openai:text-embedding-3-small"], /^--embedding-model openai:text-embedding-3-small: /],
    ["a language model as the embedding model", () => ["parallelization", "--dataset", rows, "--embedding-model", "demo:fast"], /^--embedding-model demo:fast: the demo provider has no embedding model "fast"/],
    ["no dataset", () => ["parallelization"], /^--dataset <file\.csv \| file\.jsonl> is required/],
    ["a dataset file that does not exist", () => ["parallelization", "--dataset", join(tmp, "none.csv")], /^no dataset file .*none\.csv\n$/],
    ["a dataset of unknown format", () => ["parallelization", "--dataset", file("rows.txt", "topic\nx\n")], /^cannot tell the format of .*rows\.txt: name it \.csv or \.jsonl/],
    ["an unknown template", () => ["no-such-template", "--dataset", rows], /^error at \(document\): no file or template named "no-such-template"/],
    ["an assertions file that is not JSON", () => ["parallelization", "--dataset", rows, "--assert", file("not.json", "[{")], /^.*not\.json is not valid JSON \(/],
    [
      "an embedding model that is not configured",
      () => [
        "parallelization",
        "--dataset",
        rows,
        "--assert",
        file("unconfigured.json", JSON.stringify([{ id: "close", key: "combined_output", kind: "similar", method: "embedding", model: "openai:text-embedding-3-small", threshold: 0.5, reference: "x" }])),
      ],
      /^assertion "close": embedding model openai:text-embedding-3-small: /,
    ],
    [
      "a row assertion that reuses a dataset assertion's id",
      () => ["parallelization", "--dataset", file("clash.jsonl", `${JSON.stringify({ topic: "owls", assertions: [{ id: "has-poem", key: "combined_output", kind: "contains", value: "owl" }] })}\n`), "--assert", assertions],
      /^rows\[0\]\.assertions\[0\]\.id "has-poem" is already the id of one of the dataset's assertions\n$/,
    ],
  ];
  it.each(invalid)("exits 2 for %s, saying what is wrong", async (_what, args, message) => {
    const { code, stdout, stderr } = await trellis(["eval", ...args()]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(message);
  });
});
