import { chromium } from "@playwright/test";
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
page.on("pageerror", (e) => console.log("PAGEERROR", String(e).slice(0, 500)));
page.on("console", (m) => console.log("CONSOLE", m.type(), m.text().slice(0, 300)));
await page.goto("http://127.0.0.1:3100/editor?template=routing");
await page.waitForTimeout(2000);
console.log(await page.locator(".react-flow__nodes").innerHTML().catch(e => "ERR " + e.message));
await browser.close();
