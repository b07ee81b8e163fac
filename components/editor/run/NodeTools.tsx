"use client";

import { useMemo, useState } from "react";
import { postRun } from "@/lib/editor/run-request";
import { applyRunEvents, startRunState, type NodeRun } from "@/lib/editor/run-state";
import { formatValue, type WorkflowNode } from "@/lib/workflow";
import { PINNABLE_KINDS, type Pin } from "@/lib/workflow/pin";
import { keysRead, testNodeDocument } from "@/lib/workflow/test-node";
import { useEditor, useEditorStore, useReadOnly } from "../EditorProvider";

/**
 * Pin output and Test this node (issue 16), in the inspector of a selected node. A pin fixes what
 * the node answers (from the last run, or typed); a test runs the node alone with its inputs from
 * the last run or typed here — it is not part of the workflow's run history.
 */

/** Text typed for a value: JSON when it reads as JSON (lists, objects, numbers), else the text itself. */
function readValue(text: string): unknown {
  const trimmed = text.trim();
  if (/^[[{]/.test(trimmed) || /^-?\d/.test(trimmed) || trimmed === "true" || trimmed === "false") {
    try {
      return JSON.parse(trimmed);
    } catch {
      return text;
    }
  }
  return text;
}

const showValue = (value: unknown) => (typeof value === "string" ? value : value === undefined ? "" : JSON.stringify(value, null, 2));

/** The pin a node's last output would make (a gate pins the port it took). */
function pinFromRun(node: WorkflowNode, state: NodeRun | undefined, runState: Record<string, unknown> | undefined): Pin | null {
  if (!state || state.status !== "succeeded") return null;
  if (node.kind === "gate") return state.ports?.[0] ? { port: state.ports[0] } : null;
  if (node.kind === "evaluator") {
    const value = { [node.config.gradeKey]: runState?.[node.config.gradeKey] ?? "pass", [node.config.feedbackKey]: runState?.[node.config.feedbackKey] ?? "" };
    return { value: value as Pin["value"] };
  }
  if (node.kind === "router") return state.ports?.[0] ? { value: state.ports[0] } : null;
  const key = "outputKey" in node.config ? node.config.outputKey : undefined;
  const value = key ? (runState?.[key] ?? (state.output as Record<string, unknown> | undefined)?.[key]) : undefined;
  return value === undefined ? null : { value: value as Pin["value"] };
}

const section = "mt-4 border-t border-zinc-100 pt-3 dark:border-zinc-800";
const button = "rounded-md px-2 py-1 text-xs font-medium";

export function NodeTools({ node }: { node: WorkflowNode }) {
  const readOnly = useReadOnly();
  if (readOnly || !PINNABLE_KINDS.has(node.kind)) return null;
  return (
    <>
      <PinTool node={node} />
      <TestTool node={node} />
    </>
  );
}

function PinTool({ node }: { node: WorkflowNode }) {
  const store = useEditorStore();
  const runNode = useEditor((s) => s.run?.nodes[node.id]);
  const runState = useEditor((s) => s.run?.state);
  const [typed, setTyped] = useState<string | null>(null);
  const fromRun = pinFromRun(node, runNode, runState);
  const pin = (value: Pin | null) => store.getState().pinNode(node.id, value);
  return (
    <div className={section} data-testid="pin-tool">
      <h3 className="mb-1 text-xs font-semibold uppercase tracking-wide text-zinc-500">Pinned output</h3>
      {node.pinned ? (
        <>
          <pre className="mb-2 max-h-32 overflow-auto whitespace-pre-wrap rounded bg-violet-50 p-1.5 text-[11px] text-violet-900 dark:bg-violet-950/40 dark:text-violet-100" data-testid="pinned-value">
            {node.pinned.port ? `fires ${node.pinned.port}` : showValue(node.pinned.value)}
          </pre>
          <button type="button" data-testid="unpin" className={`${button} text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800`} onClick={() => pin(null)}>
            Unpin
          </button>
        </>
      ) : (
        <>
          <p className="mb-2 text-xs text-zinc-500">A pinned node answers a fixed value and calls no model, so what follows can be iterated on alone.</p>
          <div className="flex flex-wrap gap-1">
            <button type="button" data-testid="pin-from-run" disabled={!fromRun} title={fromRun ? "Pin the output of the run on the canvas" : "Run the workflow first"} className={`${button} bg-violet-600 text-white hover:bg-violet-700 disabled:opacity-40`} onClick={() => fromRun && pin(fromRun)}>
              Pin this run&apos;s output
            </button>
            {node.kind !== "gate" && (
              <button type="button" data-testid="pin-typed" className={`${button} text-violet-700 hover:bg-violet-50 dark:text-violet-300 dark:hover:bg-violet-950`} onClick={() => setTyped(typed === null ? "" : null)}>
                Type a value…
              </button>
            )}
          </div>
          {typed !== null && (
            <div className="mt-2">
              <textarea value={typed} rows={4} data-testid="pin-value" onChange={(e) => setTyped(e.target.value)} className="w-full rounded border border-zinc-200 bg-transparent p-1.5 font-mono text-[11px] dark:border-zinc-700" placeholder="Text, or JSON for a list or object" />
              <button type="button" data-testid="pin-save" className={`${button} mt-1 bg-violet-600 text-white hover:bg-violet-700`} onClick={() => (pin({ value: readValue(typed) as Pin["value"] }), setTyped(null))}>
                Pin
              </button>
            </div>
          )}
        </>
      )}
    </div>
  );
}

function TestTool({ node }: { node: WorkflowNode }) {
  const document = useEditor((s) => s.document);
  const runState = useEditor((s) => s.run?.state);
  const keys = useMemo(() => keysRead(document, node.id), [document, node.id]);
  const [values, setValues] = useState<Record<string, string>>({});
  const [result, setShownResult] = useState<{ run: ReturnType<typeof startRunState>; error?: string } | null>(null);
  const store = useEditorStore();
  // The result shows here and on the node's card.
  const setResult = (next: { run: ReturnType<typeof startRunState>; error?: string }) => {
    setShownResult(next);
    const shown = next.run.nodes[node.id];
    const failure = next.error ?? next.run.error?.message;
    const text = failure ?? (shown?.text || (shown?.output !== undefined ? formatValue(Object.values(shown.output as Record<string, unknown>)[0] ?? shown.output) : ""));
    store.getState().setNodeTest(node.id, { status: failure ? "failed" : next.run.status === "running" ? "running" : next.run.status, text });
  };
  const valueOf = (key: string) => values[key] ?? (runState?.[key] !== undefined ? showValue(runState[key]) : "");

  const test = async () => {
    const given = Object.fromEntries(keys.map((key) => [key, readValue(valueOf(key))]));
    const built = testNodeDocument(document, node.id, given);
    if (!built.ok) return setResult({ run: startRunState("test", [node.id]), error: built.message });
    const runId = globalThis.crypto.randomUUID();
    let run = startRunState(runId, [node.id]);
    setResult({ run });
    // No workflow id: the test is not part of this workflow's run history.
    try {
      const events = await postRun("/api/runs", { runId, document: built.document, inputs: built.inputs });
      for await (const event of events) {
        if ("nodeId" in event && event.nodeId !== node.id) continue;
        run = applyRunEvents(run, [event]);
        setResult({ run });
      }
    } catch (error) {
      setResult({ run, error: error instanceof Error ? error.message : "the test could not reach the server" });
    }
  };

  const state = result?.run.nodes[node.id];
  const output = state?.text || (state?.output !== undefined ? formatValue(Object.values(state.output as Record<string, unknown>)[0] ?? state.output) : "");
  return (
    <div className={section} data-testid="test-tool">
      <h3 className="mb-1 text-xs font-semibold uppercase tracking-wide text-zinc-500">Test this node</h3>
      <p className="mb-2 text-xs text-zinc-500">Runs this node alone{keys.length ? " with these values (from the last run, or typed)" : ""}. Not added to the run history.</p>
      {keys.map((key) => (
        <label key={key} className="mb-1.5 block text-xs">
          <code className="text-zinc-600 dark:text-zinc-400">{key}</code>
          <textarea value={valueOf(key)} rows={2} data-testid={`test-value-${key}`} onChange={(e) => setValues({ ...values, [key]: e.target.value })} className="mt-0.5 w-full rounded border border-zinc-200 bg-transparent p-1 font-mono text-[11px] dark:border-zinc-700" />
        </label>
      ))}
      <button type="button" data-testid="test-node" disabled={result?.run.status === "running"} className={`${button} bg-sky-600 text-white hover:bg-sky-700 disabled:opacity-40`} onClick={() => void test()}>
        {result?.run.status === "running" ? "Testing…" : "Test this node"}
      </button>
      {result && (
        <div className="mt-2 text-xs" data-testid="test-result" data-status={result.error ? "failed" : result.run.status}>
          {result.error || result.run.error ? (
            <p className="text-red-600">{result.error ?? result.run.error?.message}</p>
          ) : (
            <pre className="max-h-48 overflow-auto whitespace-pre-wrap rounded bg-zinc-50 p-1.5 text-[11px] dark:bg-zinc-950" data-testid="test-output">
              {output || (result.run.status === "running" ? "…" : "")}
            </pre>
          )}
          {state?.usage && <p className="mt-0.5 text-zinc-500">{((state.ms ?? 0) / 1000).toFixed(2)} s · {state.usage.inputTokens + state.usage.outputTokens} tok</p>}
        </div>
      )}
    </div>
  );
}
