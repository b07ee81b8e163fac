import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import type { WorkflowDocument } from "@/lib/workflow";
import { EditorPage } from "./editor-page";

const TEMPLATE_IDS = ["prompt-chaining", "parallelization", "routing", "orchestrator-worker", "evaluator-optimizer"];

function templateText(id: string): string {
  return readFileSync(new URL(`../lib/workflow/templates/${id}.json`, import.meta.url), "utf8");
}

/** Stable JSON with sorted keys, so configs compare by content, not key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/** What a workflow is, without ids, labels, positions and notes: kinds, configs and wiring. */
function structure(doc: WorkflowDocument) {
  const nodes = doc.nodes.filter((n) => n.kind !== "note");
  const name = (id: string) => {
    const node = nodes.find((n) => n.id === id)!;
    return `${node.kind}${canonical(node.config)}`;
  };
  return {
    inputs: canonical(doc.inputs),
    nodes: nodes.map((n) => name(n.id)).sort(),
    edges: doc.edges.map((e) => `${name(e.source)}.${e.sourcePort} → ${name(e.target)}.${e.targetPort}`).sort(),
  };
}

test("builds the prompt-chaining pattern from an empty canvas and exports the template's structure", async ({ page }) => {
  const editor = new EditorPage(page);
  await editor.open();
  await expect(editor.nodes()).toHaveCount(0);

  const drops: Array<[string, number, number]> = [
    ["input", 150, 110],
    ["llm", 430, 110],
    ["gate", 710, 110],
    ["llm", 150, 420],
    ["llm", 430, 420],
    ["output", 710, 420],
  ];
  for (const [kind, x, y] of drops) await editor.dragFromPalette(kind, { x, y });
  await expect(editor.nodes()).toHaveCount(6);
  for (const id of ["input_1", "llm_1", "gate_1", "llm_2", "llm_3", "output_1"]) await expect(editor.node(id)).toBeVisible();

  await editor.connect("input_1", "out", "llm_1");
  await editor.connect("llm_1", "out", "gate_1");
  await editor.connect("gate_1", "fail", "llm_2");
  await editor.connect("llm_2", "out", "llm_3");
  await editor.connect("gate_1", "pass", "output_1");
  await editor.connect("llm_3", "out", "output_1");
  await expect(editor.edgeCount()).toHaveCount(6);

  await editor.select("llm_1");
  await editor.fill("config-outputKey", "joke");
  await editor.fill("config-prompt", "Write a short joke about {{topic}}.");
  await editor.select("llm_2");
  await editor.fill("config-outputKey", "improved_joke");
  await editor.fill("config-prompt", "Make this joke funnier by adding wordplay:\n\n{{joke}}");
  await editor.select("llm_3");
  await editor.fill("config-outputKey", "final_joke");
  await editor.fill("config-prompt", "Add a surprising twist to this joke:\n\n{{improved_joke}}");

  await editor.select("gate_1");
  const inspector = page.getByTestId("node-inspector");
  await inspector.getByTestId("gate-match").selectOption("any");
  await inspector.getByTestId("rule-key-0").selectOption("joke");
  await inspector.getByTestId("rule-op-0").selectOption("contains");
  await inspector.getByTestId("rule-value-0").fill("?");
  await inspector.getByRole("button", { name: "Add rule" }).click();
  await inspector.getByTestId("rule-key-1").selectOption("joke");
  await inspector.getByTestId("rule-value-1").fill("!");

  await editor.select("output_1");
  const keys = inspector.getByTestId("output-keys");
  await keys.getByLabel("topic", { exact: true }).uncheck();
  await keys.getByLabel("joke", { exact: true }).check();
  await keys.getByLabel("improved_joke").check();
  await keys.getByLabel("final_joke").check();

  await expect(page.getByTestId("validation-state")).toHaveText("Valid");
  const exported = await editor.exportDocument();
  expect(structure(exported)).toEqual(structure(JSON.parse(templateText("prompt-chaining"))));
});

test("every other node kind can be dragged onto the canvas", async ({ page }) => {
  const editor = new EditorPage(page);
  await editor.open();
  const kinds = ["router", "aggregate", "orchestrator", "worker", "synthesizer", "evaluator", "note"];
  for (const [i, kind] of kinds.entries()) await editor.dragFromPalette(kind, { x: 150 + (i % 3) * 280, y: 100 + Math.floor(i / 3) * 230 });
  for (const kind of kinds) await expect(editor.node(`${kind}_1`)).toBeVisible();
  await expect(page.getByTestId("node-router_1")).toContainText("Routes: question · request");
  await expect(page.getByTestId("handle-router_1-question")).toBeAttached();
  await expect(page.getByTestId("handle-evaluator_1-revise")).toBeAttached();
});

test("adds nodes by click and by keyboard, and undoes and redoes every change", async ({ page }) => {
  const editor = new EditorPage(page);
  await editor.open("routing");
  const before = JSON.parse(templateText("routing")).nodes.length;
  await expect(editor.nodes()).toHaveCount(before);
  await page.getByTestId("palette-llm").click();
  await expect(editor.nodes()).toHaveCount(before + 1);
  await page.keyboard.press("ControlOrMeta+k");
  await page.getByTestId("quick-add-input").fill("aggreg");
  await page.keyboard.press("Enter");
  await expect(editor.node("aggregate_1")).toBeVisible();
  await expect(editor.nodes()).toHaveCount(before + 2);

  await page.getByTestId("canvas").click({ position: { x: 20, y: 20 } });
  await page.keyboard.press("ControlOrMeta+z");
  await expect(editor.nodes()).toHaveCount(before + 1);
  await page.keyboard.press("ControlOrMeta+z");
  await expect(editor.nodes()).toHaveCount(before);
  await page.keyboard.press("ControlOrMeta+Shift+z");
  await expect(editor.nodes()).toHaveCount(before + 1);
  await page.getByTestId("redo").click();
  await expect(editor.nodes()).toHaveCount(before + 2);

  await editor.select("n_poem");
  await page.keyboard.press("Delete");
  await expect(editor.node("n_poem")).toHaveCount(0);
  await page.getByTestId("undo").click();
  await expect(editor.node("n_poem")).toBeVisible();
});

test("copies and pastes nodes as document JSON, within a workflow and into another tab", async ({ page, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const editor = new EditorPage(page);
  await editor.open("parallelization");
  await editor.select("n_story");
  await page.keyboard.press("ControlOrMeta+c");
  const clipboard = await page.evaluate(() => navigator.clipboard.readText());
  expect(JSON.parse(clipboard)).toMatchObject({ format: "trellis.fragment", nodes: [{ id: "n_story", kind: "llm" }] });
  await page.keyboard.press("ControlOrMeta+v");
  await expect(editor.node("llm_1")).toBeVisible();

  const other = new EditorPage(await context.newPage());
  await other.open("routing");
  const before = JSON.parse(templateText("routing")).nodes.length;
  await expect(other.nodes()).toHaveCount(before);
  await other.page.getByTestId("canvas").click({ position: { x: 20, y: 20 } });
  await other.page.keyboard.press("ControlOrMeta+v");
  await expect(other.nodes()).toHaveCount(before + 1);
  await expect(other.node("llm_1")).toContainText("Write a story");
});

test("auto-layout leaves no overlapping nodes", async ({ page }) => {
  const editor = new EditorPage(page);
  await editor.open("orchestrator-worker");
  for (const kind of ["llm", "llm", "gate", "router"]) await page.getByTestId(`palette-${kind}`).click();
  await page.getByTestId("layout").click();
  await editor.fitView();
  await expect(editor.nodes()).toHaveCount(10);
  const boxes = await editor.nodes().evaluateAll((els) => els.map((el) => el.getBoundingClientRect()).map((r) => ({ x: r.x, y: r.y, w: r.width, h: r.height })));
  for (const [i, a] of boxes.entries()) {
    for (const b of boxes.slice(i + 1)) {
      const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
      expect(overlap, `boxes ${JSON.stringify(a)} and ${JSON.stringify(b)} overlap`).toBe(false);
    }
  }
});

test("refuses an invalid connection and says why", async ({ page }) => {
  const editor = new EditorPage(page);
  await editor.open("evaluator-optimizer");
  const edges = JSON.parse(templateText("evaluator-optimizer")).edges.length;
  await expect(editor.edgeCount()).toHaveCount(edges);
  await editor.connect("n_grade", "pass", "n_joke");
  await expect(page.getByTestId("notice")).toContainText("would make a loop");
  await expect(editor.edgeCount()).toHaveCount(edges);
  await expect(page.getByTestId("loop-edge-e_grade_revise")).toBeVisible();
});

test("export → import round-trips byte for byte", async ({ page }) => {
  const editor = new EditorPage(page);
  await editor.open("evaluator-optimizer");
  const first = await editor.exportText();
  expect(`${first}\n`).toBe(templateText("evaluator-optimizer"));
  await editor.open();
  await editor.importFile("evaluator-optimizer.trellis.json", first);
  await expect(editor.node("n_grade")).toBeVisible();
  expect(await editor.exportText()).toBe(first);
});

test("the workflow's token budget per run is set and cleared in the inspector, and travels in the document", async ({ page }) => {
  const editor = new EditorPage(page);
  await editor.open("routing");
  const budget = page.getByTestId("workflow-inspector").getByTestId("workflow-max-tokens");
  await budget.fill("5000");
  expect((await editor.exportDocument()).settings?.limits).toMatchObject({ maxTokens: 5000 });
  await budget.fill("");
  expect((await editor.exportDocument()).settings?.limits?.maxTokens).toBeUndefined();
});

test("importing a malformed file shows its issues and leaves the canvas untouched", async ({ page }) => {
  const editor = new EditorPage(page);
  await editor.open("routing");
  const before = await editor.exportText();
  const broken = JSON.parse(templateText("routing"));
  broken.nodes[1].kind = "magic";
  broken.edges[0].target = "nowhere";
  await editor.importFile("broken.json", JSON.stringify(broken));
  await expect(page.getByTestId("import-issues")).toContainText('unknown node kind "magic"');
  await expect(page.getByTestId("import-issues")).toContainText("nodes[1].kind");
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("import-dialog")).toHaveCount(0);
  expect(await editor.exportText()).toBe(before);
  await editor.importFile("not-json.json", "{ this is not json");
  await expect(page.getByTestId("import-issues")).toContainText("not valid JSON");
});

for (const id of TEMPLATE_IDS) {
  test(`opens the ${id} template cleanly (screenshot)`, async ({ page }, testInfo) => {
    const editor = new EditorPage(page);
    await editor.open(id);
    await expect(page.getByTestId("validation-state")).toHaveText("Valid");
    await expect(page.getByTestId("canvas").locator("[data-testid^=node-issues-]")).toHaveCount(0);
    await page.screenshot({ path: testInfo.outputPath(`${id}.png`) });
    await testInfo.attach(`${id}.png`, { path: testInfo.outputPath(`${id}.png`), contentType: "image/png" });
  });
}

test("the prompt editor autocompletes upstream keys and marks unknown ones", async ({ page }) => {
  const editor = new EditorPage(page);
  await editor.open("prompt-chaining");
  await editor.select("n_polish");
  const prompt = page.getByTestId("node-inspector").getByTestId("config-prompt");
  await prompt.fill("Polish {{");
  await expect(page.getByTestId("key-suggestions")).toContainText("improved_joke");
  await prompt.pressSequentially("impr");
  await page.keyboard.press("Enter");
  await expect(prompt).toHaveValue("Polish {{improved_joke}}");
  await prompt.fill("Polish {{nonsense}}");
  await expect(page.getByTestId("unknown-keys")).toContainText("nonsense");
  await expect(page.getByTestId("node-issues-n_polish")).toBeVisible();
});

test("a gate pattern RE2 cannot run is refused as you type, with RE2's reason; RE2's own syntax is accepted", async ({ page }) => {
  // The browser checks patterns without RE2JS (lib/workflow/re2-browser.ts): same verdicts, same messages.
  const editor = new EditorPage(page);
  await editor.open("prompt-chaining");
  await editor.select("n_gate");
  const inspector = page.getByTestId("node-inspector");
  await inspector.getByTestId("rule-op-0").selectOption("matches");
  const pattern = inspector.getByTestId("rule-pattern-0");
  await pattern.fill("(?=ha)ha");
  await expect(inspector).toContainText("invalid or unsupported Perl syntax: `(?=`");
  await expect(inspector).toContainText("lookahead, lookbehind and backreferences are not available");
  await expect(page.getByTestId("node-issues-n_gate")).toBeVisible();
  // Named groups in RE2's spelling and inline flags: the browser's own parser refuses both.
  await pattern.fill("(?i)(?P<laugh>ha)+\\b");
  await expect(page.getByTestId("validation-state")).toHaveText("Valid");
  expect((await editor.exportDocument()).nodes.find((n) => n.id === "n_gate")?.config).toMatchObject({ condition: { rules: [{ op: "matches", pattern: "(?i)(?P<laugh>ha)+\\b" }, { op: "contains" }] } });
});

test("zoomed out below 30%, cards draw in outline with their label large enough to read; zooming back in restores them", async ({ page }) => {
  const editor = new EditorPage(page);
  await editor.open("prompt-chaining");
  // Every card but notes (a note's text is its whole point; it stays as it is).
  const count = await page.getByTestId("canvas").locator("[data-kind]").count();
  await expect(page.locator("[data-outline]")).toHaveCount(0);
  const scale = () => page.evaluate(() => new DOMMatrixReadOnly(getComputedStyle(document.querySelector(".react-flow__viewport")!).transform).a);
  const zoomOut = page.getByTestId("rf__controls").getByRole("button", { name: "Zoom Out" });
  while ((await scale()) >= 0.3) await zoomOut.click();
  await expect(page.locator("[data-outline]")).toHaveCount(count);
  const polish = editor.node("n_polish");
  await expect(polish).toContainText("Polish joke");
  await expect(page.getByTestId("node-summary-n_polish")).toHaveCount(0);
  // The label renders at 10 px or more on screen, though the canvas is drawn at under 30%.
  const onScreenPx = await polish.locator("div").nth(1).evaluate((el) => Number.parseFloat(getComputedStyle(el).fontSize) * new DOMMatrixReadOnly(getComputedStyle(document.querySelector(".react-flow__viewport")!).transform).a);
  expect(onScreenPx).toBeGreaterThanOrEqual(8);
  await page.getByTestId("rf__controls").getByRole("button", { name: "Zoom In" }).click();
  await page.getByTestId("rf__controls").getByRole("button", { name: "Zoom In" }).click();
  await expect(page.locator("[data-outline]")).toHaveCount(0);
  await expect(page.getByTestId("node-summary-n_polish")).toBeVisible();
});

test("edges are drawn: the canvas around the middle of one changes when it is hidden", async ({ page }) => {
  const editor = new EditorPage(page);
  await editor.open("prompt-chaining");
  const edge = page.locator(".react-flow__edge").first();
  const middle = await edge.locator("path.react-flow__edge-path").evaluate((path: SVGPathElement) => {
    const point = path.getPointAtLength(path.getTotalLength() / 2).matrixTransform(path.getScreenCTM()!);
    return { x: point.x, y: point.y };
  });
  // Hit testing finds an edge whose <svg> draws nothing (one of zero size, say): only pixels tell.
  const around = { x: middle.x - 4, y: middle.y - 4, width: 9, height: 9 };
  const drawn = await page.screenshot({ clip: around });
  await edge.evaluate((element: SVGElement) => (element.style.visibility = "hidden"));
  expect(drawn.equals(await page.screenshot({ clip: around }))).toBe(false);
});

test("a large canvas in outline pans with the pointer, keeps its selection, and unmounts the cards the pan took off screen", async ({ page }) => {
  const editor = new EditorPage(page);
  await editor.open();
  // 300 steps in rows of 20, above the size from which the canvas mounts only the cards on screen.
  const steps = Array.from({ length: 300 }, (_, i) => ({ id: `s${i}`, kind: "llm", label: `Step ${i}`, position: { x: (i % 20) * 290, y: Math.floor(i / 20) * 180 }, config: { outputKey: `s${i}`, prompt: "Improve: {{topic}}" } }));
  const doc = { format: "trellis.workflow", version: 1, name: "Large", inputs: [{ key: "topic", label: "Topic", type: "text", required: true }], settings: { defaultModel: "demo:default" }, nodes: steps, edges: steps.slice(1).map((s, i) => ({ id: `e${i}`, source: steps[i].id, sourcePort: "out", target: s.id, targetPort: "in" })) };
  await editor.importFile("large.trellis.json", JSON.stringify(doc));
  await expect(page.getByTestId("canvas")).toHaveAttribute("data-nodes", "300");
  await editor.fitView();
  await expect(page.getByTestId("canvas")).toHaveAttribute("data-layer-pan", "true");
  await expect(page.locator("[data-outline]")).toHaveCount(300);
  // The view's translation and scale.
  const view = () =>
    page.evaluate(() => {
      const { e, f, a } = new DOMMatrixReadOnly(getComputedStyle(document.querySelector(".react-flow__viewport")!).transform);
      return { x: e, y: f, zoom: a };
    });
  // Fitting the view is animated: wait until it has settled.
  await expect(async () => {
    const before = await view();
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    expect(await view()).toEqual(before);
  }).toPass();
  await editor.select("s45");

  const pane = (await page.locator(".react-flow__pane").boundingBox())!;
  const before = await view();
  // The top-left corner is the fitted view's padding: background, not a card.
  await page.mouse.move(pane.x + 10, pane.y + 10);
  await page.mouse.down();
  await page.mouse.move(pane.x - 390, pane.y - 90, { steps: 20 });
  await page.mouse.up();

  const after = await view();
  expect({ x: after.x - before.x, y: after.y - before.y, zoom: after.zoom }).toEqual({ x: -400, y: -100, zoom: before.zoom });
  await expect(page.getByTestId("node-inspector")).toContainText("s45");
  // React Flow knows where the view is: the first column is off screen, so no longer mounted.
  await expect(editor.node("s0")).toHaveCount(0);
});

test("the validation panel lists issues and clicking one selects its node", async ({ page }) => {
  const editor = new EditorPage(page);
  await editor.open("parallelization");
  await page.getByTestId("palette-llm").click();
  await expect(page.getByTestId("validation-state")).toHaveText("1 issue");
  await page.getByTestId("validation-state").click();
  const panel = page.getByTestId("validation-panel");
  await expect(panel).toContainText('node "llm_1" is not connected to the input');
  await panel.getByRole("button", { name: /llm_1/ }).click();
  await expect(page.getByTestId("node-inspector")).toContainText("llm_1");
  await expect(editor.node("llm_1")).toBeInViewport();
});
