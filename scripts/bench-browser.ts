/**
 * Browser benchmark (docs/architecture.md §10.2), part of `npm run bench`:
 *   - delta → card: how long after the model emits a chunk its text is in the node card (p95),
 *     with twenty LLM nodes streaming at once, and the long tasks meanwhile;
 *   - a 1,000-node workflow: time to open it (navigation → all its cards on screen), and the frame
 *     intervals and long tasks while the canvas is panned and while one node is dragged;
 *   - the editor route's JavaScript, gzipped, from the production build.
 * It runs the production build (`next build` first when there is none, or when it is older than the sources) with the demo model at its
 * default pace, in Debian's Chromium, on loopback: server and browser share the machine's clock.
 *   npm run bench:browser -- [--quick] [--only streaming|large] [--out FILE]   (also the last part of `npm run bench`)
 * BENCH_PROFILE=dir writes a CPU profile of the second pan and of the first drag of the large workflow into dir;
 * BENCH_TRACE=dir a Chrome trace of each, and prints where the main thread's time went (script,
 * style, layout, paint, layerize…); BENCH_CSS="…" adds a style sheet before the pans and drags (to try a
 * rendering change without a build); BENCH_PORT the server's port (default 3300).
 * BENCH_DEBUG=1 prints when each long task happened, in ms after Run.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium, type Page } from "@playwright/test";
import type { RunEvent, WorkflowDocument, WorkflowEdge, WorkflowNode } from "@/lib/workflow";
import { startBenchServer, stopServer } from "./serve-command";

const PORT = Number(process.env.BENCH_PORT ?? 3300);
const BASE = `http://127.0.0.1:${PORT}`;

type Stats = { n: number; median: number; p95: number; max: number };

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
  const round = (v: number) => Math.round(v * 100) / 100;
  return { n: sorted.length, median: round(at(0.5)), p95: round(at(0.95)), max: round(sorted.at(-1) ?? NaN) };
}

// ── Documents ─────────────────────────────────────────────────────────────────

function llm(id: string, prompt: string, x: number, y: number): WorkflowNode {
  return { id, kind: "llm", label: id, position: { x, y }, config: { outputKey: id, prompt } } as WorkflowNode;
}

function edge(source: string, target: string): WorkflowEdge {
  return { id: `e_${source}_${target}`, source, sourcePort: "out", target, targetPort: "in" };
}

function workflowDoc(name: string, nodes: WorkflowNode[], edges: WorkflowEdge[], outputKey: string): WorkflowDocument {
  const io: WorkflowNode[] = [
    { id: "in", kind: "input", label: "Topic", position: { x: -400, y: 0 }, config: {} } as WorkflowNode,
    { id: "out", kind: "output", label: "Result", position: { x: 3600, y: 0 }, config: { keys: [outputKey] } } as WorkflowNode,
  ];
  return {
    format: "trellis.workflow",
    version: 1,
    name,
    inputs: [{ key: "topic", label: "Topic", type: "text", default: "kites", required: true }],
    settings: { defaultModel: "demo:default" },
    nodes: [...io, ...nodes],
    edges,
  } as WorkflowDocument;
}

/** Twenty LLM nodes fed by the input at once, joined by an aggregate. */
function twentyWide(): WorkflowDocument {
  const writers = Array.from({ length: 20 }, (_, i) => llm(`w${i}`, `Write a short story about {{topic}}, part ${i + 1}.`, 0, i * 260));
  const join = { id: "join", kind: "aggregate", label: "Join", position: { x: 600, y: 2400 }, config: { outputKey: "all", template: writers.map((w) => `{{${w.id}}}`).join("\n") } } as WorkflowNode;
  const edges = [...writers.map((w) => edge("in", w.id)), ...writers.map((w) => edge(w.id, "join")), edge("join", "out")];
  return workflowDoc("Twenty at once", [...writers, join], edges, "all");
}

const LARGE = 1_000;

/**
 * 1,000 nodes: a chain of 998 LLM steps in rows of 25, spaced so that the whole workflow fits the
 * canvas at the editor's smallest zoom (0.1) at 1440×900: opening it fits the view, and every card
 * is on screen. (At 320×220 it was 8.8k units tall, a little more than fits; whether the last cards
 * were drawn then depended on their measured heights, and the open timed out now and then.)
 */
function thousand(): WorkflowDocument {
  const steps = Array.from({ length: LARGE - 2 }, (_, i) => llm(`s${i}`, `Improve: {{${i ? `s${i - 1}` : "topic"}}}`, (i % 25) * 290, Math.floor(i / 25) * 180));
  const last = steps.at(-1)!.id;
  const edges = [edge("in", "s0"), ...steps.slice(1).map((s, i) => edge(steps[i].id, s.id)), edge(last, "out")];
  return workflowDoc("One thousand", steps, edges, last);
}

// ── Server and browser ──────────────────────────────────────────────────────

/** Installed before any page script: event and DOM timing, long tasks, frames. */
function instrument() {
  type Bench = { events: unknown[]; cards: Array<{ id: string; length: number; at: number }>; longTasks: Array<{ start: number; duration: number }>; frames: number[] };
  const bench: Bench = { events: [], cards: [], longTasks: [], frames: [] };
  (globalThis as unknown as { __TRELLIS_BENCH__: Bench }).__TRELLIS_BENCH__ = bench;
  const epoch = () => performance.timeOrigin + performance.now();
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) bench.longTasks.push({ start: entry.startTime, duration: entry.duration });
  }).observe({ type: "longtask", buffered: true });
  const seen = new Map<string, number>();
  const observer = new MutationObserver(() => {
    const at = epoch();
    for (const card of document.querySelectorAll<HTMLElement>('[data-testid^="node-output-"]')) {
      const id = card.dataset.testid!.slice("node-output-".length);
      const length = card.textContent?.length ?? 0;
      if (seen.get(id) !== length) {
        seen.set(id, length);
        bench.cards.push({ id, length, at });
      }
    }
  });
  addEventListener("DOMContentLoaded", () => observer.observe(document.body, { subtree: true, childList: true, characterData: true }));
}

async function importDocument(page: Page, doc: WorkflowDocument) {
  await page.goto(`${BASE}/editor`);
  await page.getByTestId("import").click();
  await page.getByTestId("import-file").setInputFiles({ name: "bench.trellis.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(doc)) });
  // The canvas holds the document (cards off screen are not drawn: React Flow renders the visible ones).
  await page.waitForSelector(`[data-testid="canvas"][data-nodes="${doc.nodes.length}"] .react-flow__node`);
}

/** Twenty nodes streaming: each delta's emit time (server) against the moment its text is in the card (browser). */
async function streaming(page: Page) {
  await importDocument(page, twentyWide());
  await page.evaluate(() => {
    const bench = (globalThis as unknown as { __TRELLIS_BENCH__: { events: unknown[]; cards: unknown[]; longTasks: unknown[] } }).__TRELLIS_BENCH__;
    bench.events.length = 0;
    bench.cards.length = 0;
    bench.longTasks.length = 0;
  });
  await page.getByTestId("run").click();
  const clicked = await page.evaluate(() => performance.now());
  await page.getByTestId("run-start").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.textContent === "succeeded", undefined, { timeout: 120_000 });
  if (process.env.BENCH_DEBUG) {
    const tasks = await page.evaluate(() => (globalThis as unknown as { __TRELLIS_BENCH__: { longTasks: Array<{ start: number; duration: number }> } }).__TRELLIS_BENCH__.longTasks);
    console.error("long tasks (ms after Run):", tasks.map((t) => `${Math.round(t.start - clicked)}+${Math.round(t.duration)}`).join(" "));
  }
  const { events, cards, longTasks } = await page.evaluate(
    () =>
      (globalThis as unknown as { __TRELLIS_BENCH__: { events: RunEvent[]; cards: Array<{ id: string; length: number; at: number }>; longTasks: Array<{ duration: number }> } })
        .__TRELLIS_BENCH__,
  );
  const started = events.find((e) => e.type === "run-started");
  if (!started || started.type !== "run-started" || started.at === undefined) throw new Error("the run did not report its start time");
  const written = new Map<string, number>();
  const latencies: number[] = [];
  for (const event of events) {
    if (event.type !== "node-delta" || event.text === undefined || event.instance !== undefined) continue;
    const length = (written.get(event.nodeId) ?? 0) + event.text.length;
    written.set(event.nodeId, length);
    const shown = cards.find((c) => c.id === event.nodeId && c.length >= length);
    if (shown) latencies.push(shown.at - (started.at + event.t));
  }
  return { deltas: latencies.length, deltaToCardMs: stats(latencies), longTasks: longTasks.length, longestTaskMs: Math.round(Math.max(0, ...longTasks.map((t) => t.duration))) };
}

/** Opens a saved 1,000-node workflow: navigation → all its cards in the DOM and a frame drawn. */
async function openLarge(page: Page, url: string) {
  const started = Date.now();
  await page.goto(url);
  await page.waitForFunction((n) => document.querySelectorAll(".react-flow__node").length === n, LARGE, { timeout: 60_000 }).catch(async (error: Error) => {
    const shown = await page.evaluate(() => document.querySelectorAll(".react-flow__node").length);
    throw new Error(`${error.message}: ${shown} of the ${LARGE} cards drawn`);
  });
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  return Date.now() - started;
}

/** Records frame times from now until `stopFrames` (frame intervals and long tasks while something moves). */
async function startFrames(page: Page) {
  await page.evaluate(() => {
    const bench = (globalThis as unknown as { __TRELLIS_BENCH__: { frames: number[]; longTasks: unknown[]; panning: boolean } }).__TRELLIS_BENCH__;
    bench.frames = [];
    bench.longTasks.length = 0;
    bench.panning = true;
    const frames = bench.frames;
    const tick = (t: number) => {
      frames.push(t);
      if (bench.panning) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

async function stopFrames(page: Page) {
  const { frames, longTasks } = await page.evaluate(() => {
    const bench = (globalThis as unknown as { __TRELLIS_BENCH__: { frames: number[]; longTasks: Array<{ duration: number }>; panning: boolean } }).__TRELLIS_BENCH__;
    bench.panning = false;
    return bench;
  });
  const intervals = frames.slice(1).map((t, i) => t - frames[i]);
  return { frameIntervalMs: stats(intervals), longTasks: longTasks.length, longestTaskMs: Math.round(Math.max(0, ...longTasks.map((t) => t.duration))) };
}

/** The renderer's main-thread CPU time in ms: unlike frame intervals, hardly moved by other processes on the machine. */
async function mainThreadClock(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  const threadMs = async () => ((await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "ThreadTime")?.value ?? NaN) * 1000;
  const before = await threadMs();
  return async (moves: number) => {
    const ms = (await threadMs()) - before;
    await cdp.detach();
    return Math.round((ms / moves) * 10) / 10;
  };
}

const PAN_MOVES = 90;

/** Pans the large canvas for about a second and a half. */
async function panLarge(page: Page) {
  const cpu = await mainThreadClock(page);
  await startFrames(page);
  // Pressed on the canvas's background (pressing a card would drag it), nearest the middle.
  const start = await page.evaluate(() => {
    const pane = document.querySelector(".react-flow__pane")!.getBoundingClientRect();
    for (let r = 0; r < Math.min(pane.width, pane.height) / 2; r += 4) {
      for (const [dx, dy] of [[0, r], [r, 0], [0, -r], [-r, 0], [r, r], [-r, -r]]) {
        const x = pane.x + pane.width / 2 + dx;
        const y = pane.y + pane.height / 2 + dy;
        if (document.elementFromPoint(x, y)?.classList.contains("react-flow__pane")) return { x, y };
      }
    }
    return null;
  });
  if (!start) throw new Error("no background on the canvas to press");
  const { x, y } = start;
  await page.mouse.move(x, y);
  await page.mouse.down();
  // There and back, so that the view ends where it began (as many pans as the bench makes would otherwise leave the workflow).
  for (let i = 1; i <= PAN_MOVES; i++) await page.mouse.move(x - (i <= PAN_MOVES / 2 ? i : PAN_MOVES - i) * 6, y - (i % 30) * 3);
  await page.mouse.up();
  const frames = await stopFrames(page);
  return { ...frames, cpuMsPerMove: await cpu(PAN_MOVES) };
}

/**
 * Drags one node of the large canvas around for about a second: the card nearest the middle of
 * the canvas, pressed at its centre (at the zoom a 1,000-node workflow fits, a card is a few
 * pixels tall, and pressing beside it would pan the canvas instead).
 */
async function dragLarge(page: Page, zoom: "overview" | "working" = "overview") {
  if (zoom === "working") {
    // Zoom in on the middle of the canvas until a card is drawn at its full size, as a person does to work on it.
    const pane = (await page.locator(".react-flow__pane").boundingBox())!;
    await page.mouse.move(pane.x + pane.width / 2, pane.y + pane.height / 2);
    for (let i = 0; i < 40; i++) {
      const scale = await page.evaluate(() => new DOMMatrixReadOnly(getComputedStyle(document.querySelector(".react-flow__viewport")!).transform).a);
      if (scale >= 0.95) break;
      await page.mouse.wheel(0, -200);
      await page.waitForFunction((before) => new DOMMatrixReadOnly(getComputedStyle(document.querySelector(".react-flow__viewport")!).transform).a !== before, scale);
    }
  }
  const target = await page.evaluate(() => {
    const pane = document.querySelector(".react-flow__pane")!.getBoundingClientRect();
    const cx = pane.x + pane.width / 2;
    const cy = pane.y + pane.height / 2;
    const cards = [...document.querySelectorAll<HTMLElement>(".react-flow__node")].map((card) => {
      const box = card.getBoundingClientRect();
      const x = box.x + box.width / 2;
      const y = box.y + box.height / 2;
      return { id: card.dataset.id ?? "", x, y, d: (x - cx) ** 2 + (y - cy) ** 2 };
    });
    cards.sort((a, b) => a.d - b.d);
    // The nearest card whose centre is not under anything else (an edge crossing it, say).
    return cards.slice(0, 20).find((card) => document.elementFromPoint(card.x, card.y)?.closest<HTMLElement>(".react-flow__node")?.dataset.id === card.id) ?? null;
  });
  if (!target) throw new Error("no node to drag under the pointer");
  const cpu = await mainThreadClock(page);
  await startFrames(page);
  await page.mouse.move(target.x, target.y);
  await page.mouse.down();
  for (let i = 1; i <= 60; i++) await page.mouse.move(target.x + i * 4, target.y + (i % 20) * 3);
  await page.mouse.up();
  const moved = await page.evaluate(([id, x]) => {
    const card = document.querySelector<HTMLElement>(`.react-flow__node[data-id="${id}"]`);
    return card ? card.getBoundingClientRect().x + card.getBoundingClientRect().width / 2 - x : 0;
  }, [target.id, target.x] as const);
  // The card followed the pointer: a drag, not a pan of the canvas.
  if (moved < 100) throw new Error(`the node ${target.id} did not move with the pointer (${Math.round(moved)} px)`);
  const frames = await stopFrames(page);
  return { ...frames, cpuMsPerMove: await cpu(60) };
}

/** BENCH_TRACE=dir: the first pan or drag with a Chrome trace, summarised by the main thread's own time per kind of work. */
async function traced<T>(page: Page, dir: string, what: "pan" | "drag", action: () => Promise<T>): Promise<T> {
  const file = join(dir, `${what}-${Date.now()}.trace.json`);
  await page.context().browser()!.startTracing(page, { path: file, categories: ["devtools.timeline", "disabled-by-default-devtools.timeline"] });
  const result = await action();
  await page.context().browser()!.stopTracing();
  type TraceEvent = { name: string; ph: string; dur?: number; ts: number; pid: number; tid: number; args?: { name?: string } };
  const { traceEvents } = JSON.parse(readFileSync(file, "utf8")) as { traceEvents: TraceEvent[] };
  const main = traceEvents.find((e) => e.name === "thread_name" && e.args?.name === "CrRendererMain");
  // Self time per event name on the main thread: an event's duration less its children's.
  const events = traceEvents.filter((e) => e.ph === "X" && e.dur !== undefined && main && e.pid === main.pid && e.tid === main.tid).sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
  const own = new Map<string, number>();
  const open: TraceEvent[] = [];
  for (const event of events) {
    while (open.length && open.at(-1)!.ts + open.at(-1)!.dur! <= event.ts) open.pop();
    const parent = open.at(-1);
    if (parent) own.set(parent.name, (own.get(parent.name) ?? 0) - event.dur!);
    own.set(event.name, (own.get(event.name) ?? 0) + event.dur!);
    open.push(event);
  }
  const top = [...own].sort((a, b) => b[1] - a[1]).slice(0, 14);
  console.error(`wrote ${file}; main thread's own time during the ${what}:\n${top.map(([name, us]) => `  ${(us / 1000).toFixed(1).padStart(8)} ms  ${name}`).join("\n")}`);
  return result;
}

/** BENCH_PROFILE=dir: the first pan or drag with a CPU profile, for Chrome DevTools (Performance → Load profile). */
async function profiled<T>(page: Page, dir: string, what: "pan" | "drag", action: () => Promise<T>): Promise<T> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
  await cdp.send("Profiler.start");
  const result = await action();
  const { profile } = await cdp.send("Profiler.stop");
  const file = join(dir, `${what}-${Date.now()}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  console.error(`wrote ${file}`);
  return result;
}

/**
 * The editor route's own JavaScript, gzipped: the chunks its client reference manifest lists,
 * plus the app's shared ones (what a first visit to /editor downloads).
 */
function editorJavaScriptKb(): number | null {
  const manifestPath = join(".next", "server", "app", "editor", "page_client-reference-manifest.js");
  if (!existsSync(manifestPath)) return null;
  const text = readFileSync(manifestPath, "utf8");
  const files = new Set<string>();
  for (const match of text.matchAll(/"(static\/chunks\/[^"]+\.js)"/g)) files.add(match[1]);
  const buildManifest = join(".next", "build-manifest.json");
  if (existsSync(buildManifest)) {
    const manifest = JSON.parse(readFileSync(buildManifest, "utf8")) as { rootMainFiles?: string[]; polyfillFiles?: string[] };
    for (const file of manifest.rootMainFiles ?? []) files.add(file);
  }
  let bytes = 0;
  for (const file of files) {
    const path = join(".next", file);
    if (existsSync(path)) bytes += gzipSync(readFileSync(path)).length;
  }
  return Math.round(bytes / 1024);
}

/** `runs` measurements, the first of them profiled (BENCH_PROFILE=dir) or traced (BENCH_TRACE=dir) when asked. */
async function repeat<T>(page: Page, runs: number, what: "pan" | "drag", measure: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < runs; i++) {
    const { BENCH_PROFILE: profile, BENCH_TRACE: trace } = process.env;
    if (i === 0 && profile) results.push(await profiled(page, profile, what, measure));
    else if (i === 0 && trace) results.push(await traced(page, trace, what, measure));
    else results.push(await measure());
  }
  return results;
}

/** The 1,000-node workflow: opening it, panning it, and dragging one of its nodes with all of them on screen and at working zoom. */
async function largeCanvas(page: Page, runs: number) {
  process.stderr.write(`browser:open-${LARGE}…\n`);
  await importDocument(page, thousand());
  await page.getByTestId("save").click();
  await page.waitForURL(/\/w\/[0-9a-f-]{36}$/, { timeout: 60_000 });
  const url = page.url();
  const opens: number[] = [];
  for (let i = 0; i < runs + 2; i++) opens.push(await openLarge(page, url));
  // BENCH_CSS: a style sheet added before the pans and drags, to try a rendering change without a build.
  if (process.env.BENCH_CSS) await page.addStyleTag({ content: process.env.BENCH_CSS });
  process.stderr.write(`browser:pan-${LARGE}…\n`);
  // The first pan rasterises the tiles of the cards (CPU raster here: no GPU); reported apart.
  const firstPan = await panLarge(page);
  const pans = await repeat(page, runs, "pan", () => panLarge(page));
  process.stderr.write(`browser:drag-${LARGE}…\n`);
  const drags = await repeat(page, runs, "drag", () => dragLarge(page));
  // The same workflow, zoomed in to where its cards are read and edited.
  await openLarge(page, url);
  const workingDrags = [];
  for (let i = 0; i < runs; i++) workingDrags.push(await dragLarge(page, "working"));
  return { opens, firstPan, pans, drags, workingDrags };
}

async function main() {
  const { values } = parseArgs({ options: { quick: { type: "boolean" }, out: { type: "string" }, only: { type: "string" } } });
  if (values.only && values.only !== "streaming" && values.only !== "large") throw new Error(`--only takes "streaming" or "large", not "${values.only}"`);
  const runs = values.quick ? 3 : 5;
  const server = await startBenchServer({
    name: "bench",
    port: PORT,
    detached: true,
    env: { TRELLIS_MAX_CONCURRENCY: "20", TRELLIS_RUNS_PER_MINUTE: "1000", TRELLIS_MAX_NODES: String(LARGE) },
  });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    // tsx keeps function names with a `__name` helper, which functions sent to the page carry along.
    await context.addInitScript({ content: "globalThis.__name = (f) => f;" });
    await context.addInitScript(instrument);
    const page = await context.newPage();

    const streamRuns = [];
    for (let i = 0; i < (values.only === "large" ? 0 : runs); i++) {
      process.stderr.write(`browser:20-streaming run ${i + 1}/${runs}…\n`);
      streamRuns.push(await streaming(page));
    }

    const large = values.only === "streaming" ? null : await largeCanvas(page, runs);
    const openLargeMs = large && stats(large.opens.slice(1));
    const editorKb = editorJavaScriptKb();

    const report = {
      node: process.version,
      at: new Date().toISOString(),
      streaming: streamRuns,
      openLargeMs,
      firstPanLarge: large?.firstPan,
      panLarge: large?.pans,
      dragLarge: large?.drags,
      dragLargeWorkingZoom: large?.workingDrags,
      editorJavaScriptKb: editorKb,
    };
    const worst = (xs: number[]) => Math.max(...xs);
    console.log(`\nTrellis browser benchmark — Chromium, loopback, demo model at its default pace\n`);
    console.log(`${"case".padEnd(40)}${"median".padStart(10)}${"p95".padStart(10)}${"max".padStart(10)}${"long tasks".padStart(12)}${"longest".padStart(10)}`);
    for (const [i, r] of streamRuns.entries()) {
      console.log(`${`delta → card, 20 streaming (run ${i + 1})`.padEnd(40)}${`${r.deltaToCardMs.median} ms`.padStart(10)}${`${r.deltaToCardMs.p95} ms`.padStart(10)}${`${r.deltaToCardMs.max} ms`.padStart(10)}${String(r.longTasks).padStart(12)}${`${r.longestTaskMs} ms`.padStart(10)}`);
    }
    if (large && openLargeMs) {
      const { firstPan, pans, drags, workingDrags } = large;
      console.log(`${`open a ${LARGE}-node workflow`.padEnd(40)}${`${openLargeMs.median} ms`.padStart(10)}${"".padStart(10)}${`${openLargeMs.max} ms`.padStart(10)}`);
      for (const [i, r] of [firstPan, ...pans].entries()) {
        console.log(`${`pan ${LARGE} nodes, frame interval (${i ? i : "first"})`.padEnd(40)}${`${r.frameIntervalMs.median} ms`.padStart(10)}${`${r.frameIntervalMs.p95} ms`.padStart(10)}${`${r.frameIntervalMs.max} ms`.padStart(10)}${String(r.longTasks).padStart(12)}${`${r.longestTaskMs} ms`.padStart(10)}   main thread ${r.cpuMsPerMove} ms CPU a move`);
      }
      for (const [i, r] of drags.entries()) {
        console.log(`${`drag 1 of ${LARGE} nodes, frame interval (${i + 1})`.padEnd(40)}${`${r.frameIntervalMs.median} ms`.padStart(10)}${`${r.frameIntervalMs.p95} ms`.padStart(10)}${`${r.frameIntervalMs.max} ms`.padStart(10)}${String(r.longTasks).padStart(12)}${`${r.longestTaskMs} ms`.padStart(10)}   main thread ${r.cpuMsPerMove} ms CPU a move`);
      }
      for (const [i, r] of workingDrags.entries()) {
        console.log(`${`drag at working zoom, frame interval (${i + 1})`.padEnd(40)}${`${r.frameIntervalMs.median} ms`.padStart(10)}${`${r.frameIntervalMs.p95} ms`.padStart(10)}${`${r.frameIntervalMs.max} ms`.padStart(10)}${String(r.longTasks).padStart(12)}${`${r.longestTaskMs} ms`.padStart(10)}   main thread ${r.cpuMsPerMove} ms CPU a move`);
      }
    }
    console.log(`\nBudgets (docs/architecture.md §10.2)`);
    if (streamRuns.length) {
      const worstP95 = worst(streamRuns.map((r) => r.deltaToCardMs.p95));
      const worstTask = worst(streamRuns.map((r) => r.longestTaskMs));
      console.log(`${worstP95 <= 50 ? "PASS" : "FAIL"}  delta → card p95 with twenty nodes streaming, every run including the first: worst ${worstP95} ms (budget ≤ 50 ms)`);
      console.log(`${worstTask <= 50 ? "PASS" : "FAIL"}  longest task while twenty nodes stream, every run including the first: ${worstTask} ms (budget ≤ 50 ms)`);
    }
    if (large && openLargeMs) {
      const { firstPan, pans, drags, workingDrags } = large;
      console.log(`${openLargeMs.median <= 2000 ? "PASS" : "FAIL"}  a ${LARGE}-node workflow opens in ${openLargeMs.median} ms (budget ≤ 2000 ms)`);
      const panP95 = worst(pans.map((r) => r.frameIntervalMs.p95));
      console.log(`${panP95 <= 20 ? "PASS" : "FAIL"}  panning ${LARGE} nodes: p95 frame interval ${panP95} ms after the first pan (first: ${firstPan.frameIntervalMs.p95} ms; budget ≤ 20 ms)`);
      const dragP95 = worst(drags.map((r) => r.frameIntervalMs.p95));
      console.log(`${dragP95 <= 20 ? "PASS" : "FAIL"}  dragging one of ${LARGE} nodes with all of them on screen: p95 frame interval ${dragP95} ms (budget ≤ 20 ms)`);
      const workingP95 = worst(workingDrags.map((r) => r.frameIntervalMs.p95));
      console.log(`${workingP95 <= 20 ? "PASS" : "FAIL"}  dragging one of ${LARGE} nodes at working zoom: p95 frame interval ${workingP95} ms (budget ≤ 20 ms)`);
    }
    if (editorKb !== null) console.log(`${editorKb <= 300 ? "PASS" : "FAIL"}  editor route JavaScript: ${editorKb} kB gzipped (budget ≤ 300 kB)`);
    if (values.out) {
      writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`\nwrote ${values.out}`);
    }
  } finally {
    await browser.close();
    // Its data directory goes when this process exits: the server has closed it by then.
    await stopServer(server, { group: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
