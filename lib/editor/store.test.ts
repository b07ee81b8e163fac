import { describe, expect, it, vi } from "vitest";
import { findTemplate, parseDocument, serializeDocument, type WorkflowDocument } from "@/lib/workflow";
import { blankDocument, connect, DEFAULT_NODE_SIZE } from "./graph";
import { createFlowNodeMapper, toFlowEdges, toFlowNodes } from "./flow";
import { createEditorStore, documentIssues, TYPING_PAUSE_MS } from "./store";

function template(id: string): WorkflowDocument {
  const parsed = parseDocument(findTemplate(id)!.json);
  if (!parsed.ok) throw new Error("invalid template");
  return parsed.document;
}

const undo = (store: ReturnType<typeof createEditorStore>) => store.temporal.getState().undo();
const redo = (store: ReturnType<typeof createEditorStore>) => store.temporal.getState().redo();

describe("document ⇄ React Flow mapping", () => {
  it("maps every node and edge, with loop edges typed apart, and carries no document data in node.data", () => {
    const doc = template("evaluator-optimizer");
    const nodes = toFlowNodes(doc, new Set(["n_joke"]), null, {});
    const edges = toFlowEdges(doc, new Set());
    expect(nodes.map((n) => [n.id, n.type, n.position])).toEqual(doc.nodes.map((n) => [n.id, `wf-${n.kind}`, n.position]));
    expect(nodes.every((n) => Object.keys(n.data).length === 0)).toBe(true);
    expect(nodes.find((n) => n.id === "n_joke")?.selected).toBe(true);
    expect(edges.find((e) => e.id === "e_grade_revise")?.type).toBe("loop");
    expect(edges.filter((e) => e.type === "loop")).toHaveLength(1);
    expect(edges.map((e) => [e.source, e.sourceHandle, e.target, e.targetHandle])).toEqual(doc.edges.map((e) => [e.source, e.sourcePort, e.target, e.targetPort]));
  });

  it("round-trips: what React Flow reports back for an untouched canvas leaves the document byte-identical", () => {
    const doc = template("orchestrator-worker");
    const store = createEditorStore(doc);
    const flow = toFlowNodes(doc, new Set(), null, {});
    store.getState().onNodesChange(flow.map((n) => ({ type: "dimensions", id: n.id, dimensions: DEFAULT_NODE_SIZE })));
    store.getState().onNodesChange(flow.map((n) => ({ type: "position", id: n.id, position: n.position, dragging: false })));
    expect(serializeDocument(store.getState().document)).toBe(serializeDocument(doc));
    expect(parseDocument(JSON.parse(serializeDocument(store.getState().document))).ok).toBe(true);
  });
});

describe("editor store", () => {
  it("adds nodes with readable ids, labels and unique output keys", () => {
    const store = createEditorStore(blankDocument());
    const a = store.getState().addNode("llm", { position: { x: 0, y: 0 } });
    const b = store.getState().addNode("llm", { position: { x: 300, y: 0 } });
    const grade = store.getState().addNode("evaluator", { center: { x: 0, y: 0 } });
    const nodes = store.getState().document.nodes;
    expect([a, b, grade]).toEqual(["llm_1", "llm_2", "evaluator_1"]);
    expect(nodes.map((n) => n.label)).toEqual(["LLM step", "LLM step", "Evaluator"]);
    expect(nodes.map((n) => (n.config as { outputKey?: string }).outputKey)).toEqual(["text", "text_2", undefined]);
    expect(store.getState().selection.nodes).toEqual(["evaluator_1"]);
  });

  it("places click-added nodes where they overlap nothing", () => {
    const store = createEditorStore(blankDocument());
    for (let i = 0; i < 5; i++) store.getState().addNode("llm", { center: { x: 100, y: 100 } });
    const positions = store.getState().document.nodes.map((n) => n.position);
    for (const [i, p] of positions.entries()) {
      for (const q of positions.slice(i + 1)) {
        expect(Math.abs(p.x - q.x) >= DEFAULT_NODE_SIZE.width || Math.abs(p.y - q.y) >= DEFAULT_NODE_SIZE.height).toBe(true);
      }
    }
  });

  it("refuses a second input node with a reason", () => {
    const store = createEditorStore(template("routing"));
    expect(store.getState().addNode("input", { center: { x: 0, y: 0 } })).toBeNull();
    expect(store.getState().notice?.message).toMatch(/exactly one input/);
  });

  it("refuses invalid connections with a short explanation and accepts a loop from revise", () => {
    const store = createEditorStore(template("evaluator-optimizer"));
    const edges = store.getState().document.edges.length;
    expect(store.getState().connect({ source: "n_grade", sourcePort: "pass", target: "n_joke", targetPort: "in" })).toBe(false);
    expect(store.getState().notice?.message).toMatch(/would make a loop/);
    expect(store.getState().connect({ source: "n_output", sourcePort: "out", target: "n_joke", targetPort: "in" })).toBe(false);
    expect(store.getState().notice?.message).toMatch(/no out-port "out"/);
    expect(store.getState().connect({ source: "n_joke", sourcePort: "out", target: "n_input", targetPort: "in" })).toBe(false);
    expect(store.getState().document.edges).toHaveLength(edges);
    const doc = template("evaluator-optimizer");
    const fresh = createEditorStore({ ...doc, edges: doc.edges.filter((e) => e.id !== "e_grade_revise") });
    expect(fresh.getState().connect({ source: "n_grade", sourcePort: "revise", target: "n_joke", targetPort: "in" })).toBe(true);
    expect(toFlowEdges(fresh.getState().document, new Set()).filter((e) => e.type === "loop")).toHaveLength(1);
  });

  it("commits a drag as one undoable step, not one per pointer move", () => {
    const store = createEditorStore(template("routing"));
    const before = store.getState().document;
    for (const x of [10, 20, 30]) store.getState().onNodesChange([{ type: "position", id: "n_router", position: { x, y: 0 }, dragging: true }]);
    expect(store.getState().document).toBe(before);
    store.getState().onNodesChange([{ type: "position", id: "n_router", dragging: false }]);
    expect(store.getState().document.nodes.find((n) => n.id === "n_router")?.position).toEqual({ x: 30, y: 0 });
    undo(store);
    expect(store.getState().document).toBe(before);
    redo(store);
    expect(store.getState().document.nodes.find((n) => n.id === "n_router")?.position).toEqual({ x: 30, y: 0 });
  });

  it("keeps pointer moves of a drag out of the editor store: its subscribers (every card's) hear only the drop", () => {
    const store = createEditorStore(template("routing"));
    let notified = 0;
    const unsubscribe = store.subscribe(() => notified++);
    const positions: Array<unknown> = [];
    const unsubscribeDrag = store.getState().drag.subscribe((s) => positions.push(s.positions));
    for (const x of [10, 20, 30]) store.getState().onNodesChange([{ type: "position", id: "n_router", position: { x, y: 0 }, dragging: true }]);
    expect(notified).toBe(0);
    expect(positions).toEqual([{ n_router: { x: 10, y: 0 } }, { n_router: { x: 20, y: 0 } }, { n_router: { x: 30, y: 0 } }]);
    store.getState().onNodesChange([{ type: "position", id: "n_router", dragging: false }]);
    expect(notified).toBeGreaterThan(0);
    expect(store.getState().drag.getState().positions).toBeNull();
    expect(store.getState().document.nodes.find((n) => n.id === "n_router")?.position).toEqual({ x: 30, y: 0 });
    unsubscribe();
    unsubscribeDrag();
  });

  it("makes typing one undo step per pause, not one per keystroke; a pause, another field or an undo starts a new one", () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const store = createEditorStore(template("prompt-chaining"));
      const type = (text: string, gapMs = 80) => {
        for (let i = 1; i <= text.length; i++) {
          vi.advanceTimersByTime(gapMs);
          store.getState().updateNode("n_joke", { label: text.slice(0, i) });
        }
      };
      const label = () => store.getState().document.nodes.find((n) => n.id === "n_joke")?.label;
      const steps = () => store.temporal.getState().pastStates.length;
      type("Punchy");
      expect(steps()).toBe(1);
      vi.advanceTimersByTime(TYPING_PAUSE_MS);
      store.getState().updateNode("n_joke", { label: "Punchy joke" });
      expect(steps()).toBe(2);
      // Another target is another step, even without a pause.
      store.getState().updateWorkflow({ name: "Jokes" });
      store.getState().updateWorkflow({ name: "Jokes!" });
      expect(steps()).toBe(3);
      undo(store);
      expect(store.getState().document.name).toBe("Prompt chaining");
      undo(store);
      expect(label()).toBe("Punchy");
      undo(store);
      expect(label()).toBe("Generate joke");
      // Typing right after an undo does not join the step that was undone.
      type("X", 10);
      expect(steps()).toBe(1);
      undo(store);
      expect(label()).toBe("Generate joke");
      // A drag is still one step, and typing right after it is a step of its own.
      store.getState().onNodesChange([{ type: "position", id: "n_joke", position: { x: 5, y: 5 }, dragging: true }]);
      store.getState().onNodesChange([{ type: "position", id: "n_joke", position: { x: 9, y: 9 }, dragging: false }]);
      type("Y", 10);
      expect(steps()).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it("deletes a selection with its edges, undoably", () => {
    const store = createEditorStore(template("routing"));
    store.getState().select(["n_joke"]);
    store.getState().removeSelection();
    const doc = store.getState().document;
    expect(doc.nodes.some((n) => n.id === "n_joke")).toBe(false);
    expect(doc.edges.some((e) => e.source === "n_joke" || e.target === "n_joke")).toBe(false);
    undo(store);
    expect(store.getState().document).toEqual(template("routing"));
  });

  it("copies and pastes across workflows as document JSON: new ids, unique keys, inner edges kept", () => {
    const from = createEditorStore(template("prompt-chaining"));
    from.getState().select(["n_improve", "n_polish"]);
    const clipboard = from.getState().copySelection()!;
    expect(JSON.parse(clipboard).format).toBe("trellis.fragment");
    const to = createEditorStore(template("prompt-chaining"));
    expect(to.getState().paste(clipboard)).toBe(true);
    const doc = to.getState().document;
    const pasted = to.getState().selection.nodes;
    expect(pasted).toEqual(["llm_1", "llm_2"]);
    const keys = doc.nodes.flatMap((n) => ("outputKey" in n.config ? [n.config.outputKey] : []));
    expect(new Set(keys).size).toBe(keys.length);
    expect(doc.edges.filter((e) => pasted.includes(e.source) && pasted.includes(e.target))).toHaveLength(1);
    expect(to.getState().paste("not json")).toBe(false);
    expect(to.getState().notice?.message).toMatch(/does not hold Trellis nodes/);
  });

  it("duplicates the selection", () => {
    const store = createEditorStore(template("parallelization"));
    store.getState().select(["n_poem"]);
    store.getState().duplicateSelection();
    expect(store.getState().document.nodes).toHaveLength(template("parallelization").nodes.length + 1);
  });

  it("drops edges from router ports that no longer exist when its routes change", () => {
    const store = createEditorStore(template("routing"));
    const router = store.getState().document.nodes.find((n) => n.id === "n_router")!;
    if (router.kind !== "router") throw new Error("expected a router");
    store.getState().updateNode("n_router", { config: { ...router.config, routes: router.config.routes.filter((r) => r.name !== "poem") } });
    expect(store.getState().document.edges.some((e) => e.sourcePort === "poem")).toBe(false);
  });

  it("lays out left to right with no overlapping nodes and loops not pulling nodes back", async () => {
    const doc = template("evaluator-optimizer");
    const store = createEditorStore({ ...doc, nodes: doc.nodes.map((n) => ({ ...n, position: { x: 0, y: 0 } })) });
    await store.getState().layout();
    const nodes = store.getState().document.nodes;
    for (const [i, a] of nodes.entries()) {
      for (const b of nodes.slice(i + 1)) {
        const apart = Math.abs(a.position.x - b.position.x) >= DEFAULT_NODE_SIZE.width || Math.abs(a.position.y - b.position.y) >= DEFAULT_NODE_SIZE.height;
        expect(apart, `${a.id} overlaps ${b.id}`).toBe(true);
      }
    }
    const x = (id: string) => nodes.find((n) => n.id === id)!.position.x;
    expect(x("n_input")).toBeLessThan(x("n_joke"));
    expect(x("n_joke")).toBeLessThan(x("n_grade"));
    expect(x("n_grade")).toBeLessThan(x("n_output"));
  });

  it("replaces the document on import as one undo step", () => {
    const store = createEditorStore(template("routing"));
    store.getState().replaceDocument(template("parallelization"));
    expect(store.getState().document.name).toBe("Parallelization");
    undo(store);
    expect(store.getState().document.name).toBe("Routing");
  });

  it("reports document issues by node, once per document version", () => {
    const store = createEditorStore(blankDocument());
    store.getState().addNode("llm", { center: { x: 0, y: 0 } });
    const issues = documentIssues(store.getState().document);
    expect(issues.some((i) => i.code === "no-input")).toBe(true);
    expect(documentIssues(store.getState().document)).toBe(issues);
  });
});

describe("the canvas mapping keeps what did not change", () => {
  it("returns the same flow node objects for untouched nodes while one node is dragged", () => {
    const doc = template("parallelization");
    const map = createFlowNodeMapper();
    const first = map(doc, new Set(), null, {});
    const dragged = doc.nodes[1].id;
    const dragging = { [dragged]: { x: 999, y: 999 } };
    const during = map(doc, new Set(), dragging, {});
    expect(during.filter((node, i) => node !== first[i]).map((node) => node.id)).toEqual([dragged]);
    expect(during[1].position).toEqual({ x: 999, y: 999 });
    const selected = map(doc, new Set([doc.nodes[2].id]), dragging, {});
    expect(selected.filter((node, i) => node !== during[i]).map((node) => node.id)).toEqual([doc.nodes[2].id]);
  });

  it("answers a repeated connection check from the document's cache", () => {
    const doc = template("prompt-chaining");
    const connection = { source: doc.nodes[0].id, sourcePort: "out", target: doc.nodes[2].id, targetPort: "in" };
    const first = connect(doc, connection);
    expect(connect(doc, connection)).toBe(first);
    expect(connect({ ...doc }, connection)).not.toBe(first);
  });
});
