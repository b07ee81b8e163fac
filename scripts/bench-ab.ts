/**
 * Which of two production servers costs less CPU a run, on a machine whose speed drifts by a
 * fifth or more from one hour to the next (issue 12): benches run one after the other compare
 * hours as much as code. Both servers run at once, each warmed alike; then batches of sequential
 * runs alternate between them (one busy at a time, the order flipped every round), and each
 * batch's CPU time is read from /proc. It prints each server's CPU per run and the paired
 * difference: how many rounds B was the cheaper, and the mean difference with its standard error.
 *   npm run bench:ab -- [--a-dir DIR] [--b-dir DIR] [--a-flags "…"] [--b-flags "…"]
 *                       [--rounds 12] [--batch 100] [--warm 600] [--template parallelization] [--browsers 100]
 * A directory is a checkout with its dependencies (a git worktree with node_modules linked will do);
 * its production build is made first when missing or stale. Flags are Node.js's, for its server
 * (e.g. --b-flags "--max-semi-space-size=32"). Both default to this checkout: A against itself
 * shows the noise.
 */
import type { ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { eventLines } from "@/lib/editor/run-request";
import { findTemplate, parseDocument, withModel, type WorkflowDocument } from "@/lib/workflow";
import { processCpuMs, SERVER_BENCH_ENV, startBenchServer, stopServer } from "./serve-command";

const { values } = parseArgs({
  options: {
    "a-dir": { type: "string", default: "." },
    "b-dir": { type: "string", default: "." },
    "a-flags": { type: "string", default: "" },
    "b-flags": { type: "string", default: "" },
    rounds: { type: "string", default: "12" },
    batch: { type: "string", default: "100" },
    warm: { type: "string", default: "600" },
    template: { type: "string", default: "parallelization" },
    browsers: { type: "string", default: "100" },
  },
});

type Server = { name: "A" | "B"; base: string; process: ChildProcess; cookies: string[]; turn: number; perRun: number[] };

const BROWSERS = Number(values.browsers);

async function start(name: "A" | "B", dir: string, flags: string, port: number): Promise<Server> {
  const child = await startBenchServer({
    name: `bench-ab-${name}`,
    port,
    appDir: resolve(dir),
    nodeArgs: flags.split(" ").filter(Boolean),
    env: SERVER_BENCH_ENV,
  });
  return { name, base: `http://127.0.0.1:${port}`, process: child, cookies: [], turn: 0, perRun: [] };
}

/** One run from the next of BROWSERS browsers in turn (each keeps the identity cookie its first run set). */
async function run(server: Server, document: WorkflowDocument): Promise<void> {
  const slot = server.turn++ % BROWSERS;
  const cookie = server.cookies[slot];
  const response = await fetch(`${server.base}/api/runs`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Origin: server.base, ...(cookie ? { Cookie: cookie } : {}) },
    body: JSON.stringify({ runId: globalThis.crypto.randomUUID(), document, inputs: {} }),
  });
  if (!response.ok || !response.body) throw new Error(`server ${server.name} answered ${response.status}`);
  server.cookies[slot] ||= response.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  for await (const event of eventLines(response.body)) {
    if (event.type === "run-finished" && event.status !== "succeeded") throw new Error(`server ${server.name}: a run ended ${event.status} (${event.error?.code})`);
  }
}

const mean = (xs: number[]) => xs.reduce((sum, x) => sum + x, 0) / xs.length;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const parsed = parseDocument(findTemplate(values.template)?.json);
  if (!parsed.ok) throw new Error(`no template "${values.template}"`);
  const document = withModel(parsed.document, "demo:fast");
  const [rounds, batch, warm] = [Number(values.rounds), Number(values.batch), Number(values.warm)];
  // Every browser stays within the servers' per-minute limit (30) even if the whole bench took a minute.
  const perBrowser = Math.ceil((warm + rounds * batch) / BROWSERS);
  if (perBrowser > 30) throw new Error(`${perBrowser} runs a browser is more than the 30 a minute it may start: raise --browsers to ${Math.ceil((warm + rounds * batch) / 30)} or more`);
  const servers: Server[] = [];
  try {
    servers.push(await start("A", values["a-dir"], values["a-flags"], 3391));
    servers.push(await start("B", values["b-dir"], values["b-flags"], 3392));
    for (const server of servers) for (let i = 0; i < warm; i++) await run(server, document);
    for (let round = 0; round < rounds; round++) {
      for (const server of round % 2 ? [...servers].reverse() : servers) {
        const before = processCpuMs(server.process.pid!);
        for (let i = 0; i < batch; i++) await run(server, document);
        server.perRun.push((processCpuMs(server.process.pid!) - before) / batch);
      }
    }
    const [a, b] = servers;
    console.log(`\n${values.template} on demo:fast, ${rounds} rounds of ${batch} sequential runs each (after ${warm} to warm), from ${BROWSERS} browsers in turn; server CPU ms a run:`);
    for (const server of servers) console.log(`${server.name}  mean ${mean(server.perRun).toFixed(2)}  median ${median(server.perRun).toFixed(2)}  rounds ${server.perRun.map((ms) => ms.toFixed(1)).join(" ")}`);
    const differences = b.perRun.map((ms, i) => ms - a.perRun[i]);
    const spread = differences.length > 1 ? Math.sqrt(differences.reduce((sum, d) => sum + (d - mean(differences)) ** 2, 0) / (differences.length - 1) / differences.length).toFixed(2) : "n/a";
    const cheaper = differences.filter((d) => d < 0).length;
    console.log(`B − A: ${mean(differences).toFixed(2)} ± ${spread} ms a run (mean ± standard error); B cheaper in ${cheaper} of ${rounds} rounds`);
  } finally {
    await Promise.all(servers.map((server) => stopServer(server.process)));
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
