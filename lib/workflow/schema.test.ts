import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { describeIssues, type ValidationIssue } from "./issues";
import { documentJsonSchema, JSON_SCHEMA_PATH } from "./json-schema";
import { parseDocument, parseDocumentText, serializeDocument, type WorkflowDocument } from "./schema";
import { findTemplate, TEMPLATES } from "./templates";
import { compileWorkflow, validateWorkflow } from "./validate";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test fixtures are deliberately malformed

/** A fresh, mutable copy of the evaluator-optimizer template: input, joke, grade, output, note; a revise back-edge. */
function base(): Json {
  return structuredClone(findTemplate("evaluator-optimizer")!.json) as Json;
}

/** Parse issues, or else graph issues: what a user sees for a document. */
function problems(input: unknown, limits = {}): ValidationIssue[] {
  const parsed = parseDocument(input);
  if (!parsed.ok) return parsed.issues;
  return validateWorkflow(parsed.document, limits).filter((i) => i.severity === "error");
}

const mutate = (change: (doc: Json) => void) => () => {
  const doc = base();
  change(doc);
  return doc;
};

const HUGE = "x".repeat(10 * 1024 * 1024);

/** The joke node replaced by a router with these routes. */
const routerWith = (routes: Array<{ name: string; description: string }>) =>
  mutate((d) => (d.nodes[1] = { id: "n_joke", kind: "router", label: "R", position: { x: 0, y: 0 }, config: { outputKey: "joke", prompt: "{{topic}}", routes } }));

/** Malformed documents, each with the path its first issue must point at. */
const MALFORMED: Array<[string, () => unknown, string | RegExp]> = [
  ["null", () => null, ""],
  ["an array", () => [], ""],
  ["a string", () => "workflow", ""],
  ["a number", () => 42, ""],
  ["an empty object", () => ({}), "format"],
  ["the wrong format", mutate((d) => (d.format = "n8n.workflow")), "format"],
  ["no version", mutate((d) => delete d.version), "version"],
  ["a newer version", mutate((d) => (d.version = 2)), "version"],
  ["a version as text", mutate((d) => (d.version = "1")), "version"],
  ["version 0", mutate((d) => (d.version = 0)), "version"],
  ["a fractional version", mutate((d) => (d.version = 1.5)), "version"],
  ["no name", mutate((d) => delete d.name), "name"],
  ["a blank name", mutate((d) => (d.name = "   ")), "name"],
  ["a numeric name", mutate((d) => (d.name = 7)), "name"],
  ["an unknown top-level key", mutate((d) => (d.owner = "me")), "owner"],
  ["a __proto__ key", () => JSON.parse(JSON.stringify(base()).replace('"name":', '"__proto__": {"polluted": true}, "name":')), "__proto__"],
  ["a __proto__ key in a config", () => JSON.parse(JSON.stringify(base()).replace('"outputKey":"joke"', '"outputKey":"joke","__proto__":{}')), "nodes[1].config.__proto__"],
  ["inputs not a list", mutate((d) => (d.inputs = { topic: "x" })), "inputs"],
  ["an input key starting with a digit", mutate((d) => (d.inputs[0].key = "1topic")), "inputs[0].key"],
  ["an unknown input field", mutate((d) => (d.inputs[0].placeholder = "…")), "inputs[0].placeholder"],
  ["an unknown input type", mutate((d) => (d.inputs[0].type = "date")), "inputs[0].type"],
  ["duplicate input keys", mutate((d) => d.inputs.push({ ...d.inputs[0] })), "inputs[1].key"],
  ["nodes not a list", mutate((d) => (d.nodes = {})), "nodes"],
  ["a node without an id", mutate((d) => delete d.nodes[1].id), "nodes[1].id"],
  ["a node id with spaces", mutate((d) => (d.nodes[1].id = "my node")), "nodes[1].id"],
  ["duplicate node ids", mutate((d) => (d.nodes[2].id = d.nodes[1].id)), "nodes[2].id"],
  ["an unknown node kind", mutate((d) => (d.nodes[1].kind = "magic")), "nodes[1].kind"],
  ["a node without a kind", mutate((d) => delete d.nodes[1].kind), "nodes[1].kind"],
  ["an unknown node field", mutate((d) => (d.nodes[1].data = { onClick: "alert(1)" })), "nodes[1].data"],
  ["a node without a position", mutate((d) => delete d.nodes[1].position), "nodes[1].position"],
  ["an infinite position", mutate((d) => (d.nodes[1].position.x = Infinity)), "nodes[1].position.x"],
  ["a NaN position", mutate((d) => (d.nodes[1].position.y = NaN)), "nodes[1].position.y"],
  ["a position given as text", mutate((d) => (d.nodes[1].position = "0,0")), "nodes[1].position"],
  ["a node without config", mutate((d) => delete d.nodes[1].config), "nodes[1].config"],
  ["a misspelt config key", mutate((d) => (d.nodes[1].config.temperatur = 0.2)), "nodes[1].config.temperatur"],
  ["an empty prompt", mutate((d) => (d.nodes[1].config.prompt = "  ")), "nodes[1].config.prompt"],
  ["an output key with a dash", mutate((d) => (d.nodes[1].config.outputKey = "my-joke")), "nodes[1].config.outputKey"],
  ["an output key named __proto__", mutate((d) => (d.nodes[1].config.outputKey = "__proto__")), "nodes[1].config.outputKey"],
  ["a model id without a provider", mutate((d) => (d.nodes[1].config.model = "gpt4")), "nodes[1].config.model"],
  ["a temperature out of range", mutate((d) => (d.nodes[1].config.temperature = 5)), "nodes[1].config.temperature"],
  ["a 10 MB prompt", mutate((d) => (d.nodes[1].config.prompt = HUGE)), "nodes[1].config.prompt"],
  ["a 10 MB name", mutate((d) => (d.name = HUGE)), "name"],
  ["evaluator maxIterations 0", mutate((d) => (d.nodes[2].config.maxIterations = 0)), "nodes[2].config.maxIterations"],
  ["evaluator with the same grade and feedback key", mutate((d) => (d.nodes[2].config.feedbackKey = "funny_or_not")), "nodes[2].config.feedbackKey"],
  ["an output node with no keys", mutate((d) => (d.nodes[3].config.keys = [])), "nodes[3].config.keys"],
  ["a note with an unknown colour", mutate((d) => (d.nodes[4].config.color = "#ff0000")), "nodes[4].config.color"],
  ["edges not a list", mutate((d) => (d.edges = null)), "edges"],
  ["an edge to a missing node", mutate((d) => (d.edges[1].target = "n_nowhere")), "edges[1].target"],
  ["an edge from a missing node", mutate((d) => (d.edges[1].source = "ghost")), "edges[1].source"],
  ["an edge from an unknown port", mutate((d) => (d.edges[3].sourcePort = "maybe")), "edges[3].sourcePort"],
  ["an edge into an unknown port", mutate((d) => (d.edges[1].targetPort = "left")), "edges[1].targetPort"],
  ["an edge into the input node", mutate((d) => d.edges.push({ id: "e_back", source: "n_joke", sourcePort: "out", target: "n_input", targetPort: "in" })), "edges[4].targetPort"],
  ["an edge into a note", mutate((d) => d.edges.push({ id: "e_note", source: "n_joke", sourcePort: "out", target: "n_note", targetPort: "in" })), "edges[4].target"],
  ["duplicate edge ids", mutate((d) => (d.edges[1].id = d.edges[0].id)), "edges[1].id"],
  ["an edge missing its port", mutate((d) => delete d.edges[0].sourcePort), "edges[0].sourcePort"],
  ["the same edge twice", mutate((d) => d.edges.push({ ...d.edges[0], id: "e_again" })), "edges[4]"],
  ["a self-loop", mutate((d) => d.edges.push({ id: "e_self", source: "n_grade", sourcePort: "revise", target: "n_grade", targetPort: "in" })), "edges[4]"],
  ["a cycle through an ordinary output", mutate((d) => (d.edges[2].sourcePort = "pass")), /^edges\[\d\]$/],
  ["no input node", mutate((d) => d.nodes.splice(0, 1)), /^(nodes|edges\[0\]\.source)$/],
  [
    "two input nodes",
    mutate((d) => d.nodes.push({ ...d.nodes[0], id: "n_input2", position: { x: 0, y: 400 } })),
    "nodes[5]",
  ],
  ["an unconnected node", mutate((d) => d.nodes.push({ id: "n_lonely", kind: "llm", label: "Lonely", position: { x: 0, y: 0 }, config: { outputKey: "lonely", prompt: "Hi" } })), "nodes[5]"],
  [
    "two nodes writing the same key",
    mutate((d) => {
      d.nodes.push({ id: "n_joke2", kind: "llm", label: "Joke 2", position: { x: 0, y: 0 }, config: { outputKey: "joke", prompt: "Hi" } });
      d.edges.push({ id: "e_j2", source: "n_input", sourcePort: "out", target: "n_joke2", targetPort: "in" });
    }),
    "nodes[5].config",
  ],
  ["an output key that shadows an input", mutate((d) => (d.nodes[1].config.outputKey = "topic")), /nodes\[1\]\.config/],
  ["a template naming an unknown key", mutate((d) => (d.nodes[1].config.prompt = "Joke about {{subject}}")), "nodes[1].config.prompt"],
  ["an unclosed template section", mutate((d) => (d.nodes[1].config.prompt = "{{#topic}} open")), "nodes[1].config.prompt"],
  ["a template partial", mutate((d) => (d.nodes[1].config.prompt = "{{> header}}")), "nodes[1].config.prompt"],
  ["template sections nested 16 deep", mutate((d) => (d.nodes[1].config.prompt = "{{#topic}}".repeat(16) + "x" + "{{/topic}}".repeat(16))), "nodes[1].config.prompt"],
  ["template sections nested 5 deep in an evaluator's prompt", mutate((d) => (d.nodes[2].config.prompt = "{{#topic}}".repeat(5) + "{{/topic}}".repeat(5))), "nodes[2].config.prompt"],
  ["an output key nobody produces", mutate((d) => (d.nodes[3].config.keys = ["joke", "verdict"])), "nodes[3].config.keys[1]"],
  ["an unknown settings key", mutate((d) => (d.settings.apiKey = "sk-123")), "settings.apiKey"],
  ["a zero concurrency limit", mutate((d) => (d.settings.limits.maxConcurrency = 0)), "settings.limits.maxConcurrency"],
  ["a base URL in settings", mutate((d) => (d.settings.baseURL = "http://evil")), "settings.baseURL"],
  ["a router with no routes", routerWith([]), "nodes[1].config.routes"],
  ["a route named default", routerWith([{ name: "default", description: "" }]), "nodes[1].config.routes[0].name"],
  ["duplicate route names", routerWith([{ name: "a", description: "" }, { name: "a", description: "" }]), "nodes[1].config.routes"],
  ...(
    [
      ["a gate with an invalid regex", { op: "matches", key: "topic", pattern: "(" }, "pattern"],
      ["a gate with a lookahead the linear-time engine cannot run", { op: "matches", key: "topic", pattern: "^(?=a)a+$" }, "pattern"],
      ["a gate with a lookbehind", { op: "matches", key: "topic", pattern: "(?<!a)b" }, "pattern"],
      ["a gate with a backreference", { op: "matches", key: "topic", pattern: "(a)\\1" }, "pattern"],
      ["a gate with an unknown operator", { op: "resembles", key: "topic", value: "x" }, "op"],
      ["a gate rule on a non-identifier key", { op: "contains", key: "a b", value: "x" }, "key"],
    ] as const
  ).map(
    ([name, rule, field]): [string, () => unknown, string] => [
      name,
      mutate((d) => {
        d.nodes.push({ id: "n_gate", kind: "gate", label: "G", position: { x: 0, y: 0 }, config: { mode: "condition", condition: { match: "all", rules: [rule] } } });
        d.edges.push({ id: "e_gate", source: "n_input", sourcePort: "out", target: "n_gate", targetPort: "in" });
      }),
      `nodes[5].config.condition.rules[0].${field}`,
    ],
  ),
  ["a gate with no rules", mutate((d) => {
    d.nodes.push({ id: "n_gate", kind: "gate", label: "G", position: { x: 0, y: 0 }, config: { mode: "condition", condition: { match: "all", rules: [] } } });
    d.edges.push({ id: "e_gate", source: "n_input", sourcePort: "out", target: "n_gate", targetPort: "in" });
  }), "nodes[5].config.condition.rules"],
  ["a worker without forEach", mutate((d) => {
    d.nodes.push({ id: "n_w", kind: "worker", label: "W", position: { x: 0, y: 0 }, config: { outputKey: "w", prompt: "x" } });
    d.edges.push({ id: "e_w", source: "n_input", sourcePort: "out", target: "n_w", targetPort: "in" });
  }), "nodes[5].config.forEach"],
  ["a worker over a key nobody produces", mutate((d) => {
    d.nodes.push({ id: "n_w", kind: "worker", label: "W", position: { x: 0, y: 0 }, config: { forEach: "plan", outputKey: "w", prompt: "{{item.name}}" } });
    d.edges.push({ id: "e_w", source: "n_input", sourcePort: "out", target: "n_w", targetPort: "in" });
  }), "nodes[5].config.forEach"],
  ["an orchestrator with maxItems 0", mutate((d) => {
    d.nodes.push({ id: "n_o", kind: "orchestrator", label: "O", position: { x: 0, y: 0 }, config: { outputKey: "plan", prompt: "x", maxItems: 0 } });
    d.edges.push({ id: "e_o", source: "n_input", sourcePort: "out", target: "n_o", targetPort: "in" });
  }), "nodes[5].config.maxItems"],
];

describe("parseDocument rejects malformed documents with a path, and never throws", () => {
  it("has at least fifty cases", () => {
    expect(MALFORMED.length).toBeGreaterThanOrEqual(50);
  });

  it.each(MALFORMED)("%s", (_, make, path) => {
    const input = make();
    let found: ValidationIssue[] = [];
    expect(() => (found = problems(input))).not.toThrow();
    expect(found.length).toBeGreaterThan(0);
    for (const problem of found) {
      expect(problem.message.length).toBeGreaterThan(5);
      expect(problem.message.length).toBeLessThan(400);
    }
    const paths = found.map((p) => p.path);
    if (typeof path === "string") expect(paths).toContain(path);
    else expect(paths.some((p) => path.test(p))).toBe(true);
  });
});

describe("messages a person understands", () => {
  const messageFor = (make: () => unknown) => describeIssues(problems(make()));

  it("names the unknown kind and lists the known ones", () => {
    expect(messageFor(mutate((d) => (d.nodes[1].kind = "magic")))).toMatch(/unknown node kind "magic" \(expected one of input, llm, gate/);
  });

  it("says a newer version was written by a newer Trellis", () => {
    expect(messageFor(mutate((d) => (d.version = 3)))).toMatch(/format version 3, written by a newer Trellis; this app reads versions up to 1/);
  });

  it("names the cycle and what would close it", () => {
    expect(messageFor(mutate((d) => (d.edges[2].sourcePort = "pass")))).toMatch(
      /cycle n_(joke|grade) → n_(joke|grade) → n_\1 is not closed by an evaluator "revise" or a gate "fail" edge/,
    );
  });

  it("lists the keys a template could use instead", () => {
    expect(messageFor(mutate((d) => (d.nodes[1].config.prompt = "Joke about {{subject}}")))).toMatch(
      /\{\{subject\}\} refers to a key that no upstream node produces \(available: feedback, funny_or_not, topic\)/,
    );
  });

  it("explains an unknown port with the ports the node has", () => {
    expect(messageFor(mutate((d) => (d.edges[3].sourcePort = "maybe")))).toMatch(/evaluator node "n_grade" has no out-port "maybe" \(it has pass, revise\)/);
  });

  it("reports unreadable JSON text and oversized text without parsing it", () => {
    expect(parseDocumentText('{"format": "trellis.workflow", "version": 1, "na')).toMatchObject({ ok: false, issues: [{ code: "invalid-json", path: "" }] });
    expect(parseDocumentText("")).toMatchObject({ ok: false, issues: [{ code: "invalid-json" }] });
    expect(parseDocumentText(`"${HUGE}"`)).toMatchObject({ ok: false, issues: [{ code: "too-large" }] });
    expect(parseDocumentText("[".repeat(100_000) + "]".repeat(100_000))).toMatchObject({ ok: false });
  });
});

describe("graph rules that must allow what users build", () => {
  it("accepts every template, with their back-edges and loops", () => {
    for (const template of TEMPLATES) {
      const parsed = parseDocument(template.json);
      expect(parsed.ok, template.id).toBe(true);
      if (parsed.ok) expect(validateWorkflow(parsed.document), template.id).toEqual([]);
    }
  });

  it("marks the evaluator's revise edge as a back-edge and computes the loop body", () => {
    const parsed = parseDocument(base());
    const compiled = parsed.ok ? compileWorkflow(parsed.document) : null;
    expect(compiled?.ok).toBe(true);
    if (!compiled?.ok) return;
    const { edges, loopBodies, nodes } = compiled.workflow;
    expect(edges.filter((e) => e.back).map((e) => e.id)).toEqual(["e_grade_revise"]);
    expect([...loopBodies.values()][0].map((n) => nodes[n].id)).toEqual(["n_joke", "n_grade"]);
  });

  it("treats a revise edge that points downstream as an ordinary edge", () => {
    const doc = base();
    doc.edges[2] = { id: "e_grade_revise", source: "n_grade", sourcePort: "revise", target: "n_output", targetPort: "in" };
    doc.nodes[1].config.prompt = "Write a joke about {{topic}}";
    const parsed = parseDocument(doc);
    expect(parsed.ok && compileWorkflow(parsed.document).ok).toBe(true);
  });

  it("allows branches of one router to share an output key, and nothing else to", () => {
    expect(problems(findTemplate("routing")!.json)).toEqual([]);
  });

  it("warns, without failing, when the document asks for more than the operator allows", () => {
    const doc = base();
    doc.settings.limits.maxConcurrency = 64;
    const parsed = parseDocument(doc);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(validateWorkflow(parsed.document)).toEqual([expect.objectContaining({ severity: "warning", code: "limits-lowered" })]);
  });

  it("refuses more nodes than the limit", () => {
    const doc = base();
    for (let i = 0; i < 5; i++) {
      doc.nodes.push({ id: `n_extra${i}`, kind: "llm", label: "x", position: { x: 0, y: 0 }, config: { outputKey: `extra${i}`, prompt: "x" } });
      doc.edges.push({ id: `e_extra${i}`, source: "n_input", sourcePort: "out", target: `n_extra${i}`, targetPort: "in" });
    }
    expect(problems(doc, { maxNodes: 6 })).toEqual([expect.objectContaining({ code: "limit:nodes" })]);
  });
});

describe("the document format", () => {
  it.each(TEMPLATES.map((t) => [t.id]))("%s is stored canonically: parse → serialise gives the file byte for byte", (id) => {
    const text = readFileSync(new URL(`./templates/${id}.json`, import.meta.url), "utf8");
    const parsed = parseDocumentText(text);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(`${serializeDocument(parsed.document)}\n`).toBe(text);
  });

  it("round-trips export → import → export byte for byte, including optional fields", () => {
    const doc = base() as WorkflowDocument;
    (doc.nodes[1].config as Json).temperature = 0.7;
    (doc.nodes[1].config as Json).system = "Be brief.";
    const first = parseDocument(doc);
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    const exported = serializeDocument(first.document);
    const again = parseDocumentText(exported);
    expect(again.ok && serializeDocument(again.document)).toBe(exported);
  });

  it("never keeps unknown fields", () => {
    const doc = base();
    doc.nodes[1].config.extra = 1;
    expect(parseDocument(doc).ok).toBe(false);
  });

  it("publishes a JSON Schema that matches the zod schema (run `npm run schema` when this fails)", () => {
    const published = JSON.parse(readFileSync(JSON_SCHEMA_PATH, "utf8"));
    expect(published).toEqual(documentJsonSchema());
  });
});
