import { expect, type Locator, type Page } from "@playwright/test";
import type { WorkflowDocument } from "@/lib/workflow";

/** The editor as a person uses it: palette, canvas, ports, inspector, toolbar. */
export class EditorPage {
  constructor(readonly page: Page) {}

  async open(template?: string) {
    await this.page.goto(template ? `/editor?template=${template}` : "/editor");
    await expect(this.page.getByTestId("editor")).toBeVisible();
    await expect(this.page.locator(".react-flow__viewport")).toBeAttached();
  }

  node(id: string): Locator {
    return this.page.getByTestId(`node-${id}`);
  }

  nodes(): Locator {
    return this.page.locator(".react-flow__node");
  }

  /** Drags a kind from the palette and drops it at a point of the canvas (relative to its top-left). */
  async dragFromPalette(kind: string, at: { x: number; y: number }) {
    await this.page.getByTestId(`palette-${kind}`).dragTo(this.page.getByTestId("canvas"), { targetPosition: at });
  }

  /** Draws an edge by dragging from an out-port handle onto an in-port handle. */
  async connect(source: string, sourcePort: string, target: string, targetPort = "in") {
    const from = await this.page.getByTestId(`handle-${source}-${sourcePort}`).boundingBox();
    const to = await this.page.getByTestId(`handle-${target}-${targetPort}`).boundingBox();
    if (!from || !to) throw new Error(`handle not on screen: ${source}.${sourcePort} → ${target}.${targetPort}`);
    const mouse = this.page.mouse;
    await mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await mouse.down();
    await mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 5 });
    await mouse.move(to.x + to.width / 2, to.y + to.height / 2, { steps: 5 });
    await mouse.up();
  }

  async select(id: string) {
    await this.node(id).click();
    await expect(this.page.getByTestId("node-inspector")).toContainText(id);
  }

  async fill(testId: string, value: string) {
    const field = this.page.getByTestId("node-inspector").getByTestId(testId);
    await field.fill(value);
  }

  edgeCount(): Locator {
    return this.page.locator(".react-flow__edge");
  }

  async exportText(): Promise<string> {
    const download = this.page.waitForEvent("download");
    await this.page.getByTestId("export").click();
    const file = await (await download).createReadStream();
    let text = "";
    for await (const chunk of file) text += chunk;
    return text;
  }

  async exportDocument(): Promise<WorkflowDocument> {
    return JSON.parse(await this.exportText()) as WorkflowDocument;
  }

  async importFile(name: string, contents: string) {
    await this.page.getByTestId("import").click();
    await this.page.getByTestId("import-file").setInputFiles({ name, mimeType: "application/json", buffer: Buffer.from(contents) });
  }

  async fitView() {
    await this.page.getByTestId("fit-view").click();
  }
}

/** Running from the editor: the run form, the run panel, node run states. */
export class RunPage extends EditorPage {
  async run(inputs: Record<string, string> = {}) {
    await this.page.getByTestId("run").click();
    for (const [key, value] of Object.entries(inputs)) await this.page.getByTestId(`run-input-${key}`).fill(value);
    await this.page.getByTestId("run-start").click();
    await expect(this.page.getByTestId("run-panel")).toBeVisible();
  }

  async finished(status: "succeeded" | "failed" | "cancelled" = "succeeded") {
    await expect(this.page.getByTestId("run-status")).toHaveText(status, { timeout: 60_000 });
  }

  status(nodeId: string): Locator {
    return this.page.getByTestId(`node-status-${nodeId}`);
  }

  output(nodeId: string): Locator {
    return this.page.getByTestId(`node-output-${nodeId}`);
  }

  async spans(testIdPrefix: string): Promise<Array<{ start: number; end: number }>> {
    return this.page.locator(`[data-testid^="${testIdPrefix}"]`).evaluateAll((bars) =>
      bars.map((bar) => ({ start: Number((bar as HTMLElement).dataset.start), end: Number((bar as HTMLElement).dataset.end) })),
    );
  }
}
