import { chromium } from "@playwright/test";
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"] });
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
const errors = [];
page.on("pageerror", (e) => errors.push(String(e)));
page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
for (const [name, url] of [["home", "/"], ["orch", "/editor?template=orchestrator-worker"], ["eval", "/editor?template=evaluator-optimizer"], ["blank", "/editor"]]) {
  await page.goto("http://127.0.0.1:3100" + url);
  await page.waitForTimeout(1500);
  await page.screenshot({ path: `/tmp/shot-${name}.png` });
}
await page.goto("http://127.0.0.1:3100/editor?template=routing");
await page.waitForTimeout(1000);
await page.click('[data-testid="node-n_router"]');
await page.waitForTimeout(300);
await page.screenshot({ path: `/tmp/shot-router.png` });
console.log(errors.join("\n") || "no errors");
await browser.close();
