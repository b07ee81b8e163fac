"use client";

import { ArrowLeft, Download, FileUp, GitCompare, Play, Plus, Save, Square, Trash2 } from "lucide-react";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useCallback, useEffect, useRef, useState } from "react";
import type { Assertion, Dataset, DatasetRow } from "@/lib/workflow/eval/types";
import {
  cancelEvaluationAction,
  compareAction,
  datasetAction,
  datasetsAction,
  deleteDatasetAction,
  evaluationAction,
  evaluationsAction,
  exportDatasetAction,
  importDatasetAction,
  saveDatasetAction,
  startEvaluationAction,
  versionsAction,
  type ComparisonView,
  type DatasetSummary,
  type DatasetView,
  type EvalProgressView,
  type EvaluationListItem,
  type EvaluationView,
} from "@/app/w/[id]/evals/actions";
import { AssertionsEditor } from "./AssertionsEditor";
import { CompareView, sideLabel } from "./CompareView";
import { DatasetGrid } from "./DatasetGrid";
import { duration, percent, when } from "./format";
import { ResultsGrid, SummaryCards } from "./ResultsView";
import { SharePanel } from "./SharePanel";

export type EvalsPageProps = {
  workflowId: string;
  workflowName: string;
  versions: Array<{ version: number; summary: string }>;
  inputs: Array<{ key: string; label: string; type: string }>;
  outputKeys: string[];
  models: Array<{ id: string; label: string }>;
  datasets: DatasetSummary[];
  evaluations: EvaluationListItem[];
  /** The newest dataset, opened at once. */
  initialDataset: DatasetView | null;
  /** The caller's workflows: another one may run on this workflow's dataset (two topologies of one task). */
  workflows: Array<{ id: string; name: string }>;
  /** The server can embed: `similar` assertions may compare by embeddings. */
  canEmbed: boolean;
  /** Rows at once this server allows one identity. */
  maxConcurrency: number;
  /** Results opened at once (`?evaluation=<id>`). */
  initialEvaluation: EvaluationView | null;
};

type Tab = "dataset" | "results" | "compare";
type ImportIssue = { message: string; row?: number; column?: string };

const button = "inline-flex h-8 items-center gap-1.5 rounded-md border border-zinc-300 px-3 text-sm text-zinc-700 hover:bg-zinc-50 disabled:cursor-not-allowed disabled:opacity-40 dark:border-zinc-700 dark:text-zinc-300 dark:hover:bg-zinc-800";
const primary = "inline-flex h-8 items-center gap-1.5 rounded-md bg-sky-600 px-3 text-sm font-medium text-white hover:bg-sky-700 disabled:cursor-not-allowed disabled:opacity-50";

const STATUS_STYLE: Record<string, string> = {
  queued: "bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300",
  running: "bg-sky-100 text-sky-800 dark:bg-sky-950 dark:text-sky-300",
  succeeded: "bg-emerald-100 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300",
  failed: "bg-red-100 text-red-800 dark:bg-red-950 dark:text-red-300",
  cancelled: "bg-amber-100 text-amber-800 dark:bg-amber-950 dark:text-amber-300",
  interrupted: "bg-amber-100 text-amber-800 dark:bg-amber-950 dark:text-amber-300",
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`rounded-full px-2 py-0.5 text-[11px] font-medium ${STATUS_STYLE[status] ?? STATUS_STYLE.queued}`} data-testid="eval-status">
      {status}
    </span>
  );
}

function download(filename: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const formatOf = (name: string): "csv" | "jsonl" | null => (/\.csv$/i.test(name) ? "csv" : /\.(jsonl|ndjson)$/i.test(name) ? "jsonl" : null);

/** `/w/<id>/evals`: datasets, assertions, evaluation runs with live progress, results, comparisons and links. */
export function EvalsPage(props: EvalsPageProps) {
  const { workflowId, workflowName, versions, inputs, outputKeys, models } = props;
  const [datasets, setDatasets] = useState(props.datasets);
  const [evaluations, setEvaluations] = useState(props.evaluations);
  const [tab, setTab] = useState<Tab>(props.initialEvaluation ? "results" : "dataset");
  const [notice, setNotice] = useState<{ kind: "error" | "info"; text: string } | null>(null);

  // ── Datasets ──
  const [current, setCurrent] = useState<DatasetView | null>(props.initialDataset);
  const [draft, setDraft] = useState<Dataset | null>(props.initialDataset?.dataset ?? null);
  const [problems, setProblems] = useState<Record<number, string>>({});
  const [rowProblems, setRowProblems] = useState<Record<number, Record<number, string>>>({});
  const [importIssues, setImportIssues] = useState<ImportIssue[] | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const importInto = useRef<string | undefined>(undefined);
  const dirty = Boolean(current && draft && JSON.stringify(current.dataset) !== JSON.stringify(draft));

  const refreshLists = useCallback(async () => {
    const [d, e] = await Promise.all([datasetsAction({ workflowId }), evaluationsAction({ workflowId })]);
    if (d.ok) setDatasets(d.data);
    if (e.ok) setEvaluations(e.data);
  }, [workflowId]);

  const openDataset = useCallback(async (datasetId: string) => {
    const answer = await datasetAction({ datasetId });
    if (!answer.ok) return setNotice({ kind: "error", text: answer.error.message });
    setCurrent(answer.data);
    setDraft(answer.data.dataset);
    setProblems({});
    setRowProblems({});
    setTab("dataset");
  }, []);

  const importFile = async (file: File) => {
    setImportIssues(null);
    setNotice(null);
    const format = formatOf(file.name);
    if (!format) return setImportIssues([{ message: `${file.name}: choose a .csv or .jsonl file` }]);
    const text = await file.text();
    const datasetId = importInto.current;
    const answer = await importDatasetAction({ workflowId, format, name: file.name.replace(/\.[^.]+$/, "").slice(0, 120) || "Dataset", text, ...(datasetId && current ? { datasetId, baseVersion: current.latestVersion } : {}) });
    if (!answer.ok) {
      setImportIssues(answer.error.rows?.length ? answer.error.rows : [{ message: answer.error.message }]);
      return;
    }
    setNotice({ kind: "info", text: `Imported ${answer.data.rows} row${answer.data.rows === 1 ? "" : "s"} from ${file.name} (v${answer.data.version}).` });
    await refreshLists();
    await openDataset(answer.data.id);
  };

  const chooseFile = (datasetId?: string) => {
    importInto.current = datasetId;
    fileInput.current?.click();
  };

  const newDataset = async () => {
    const answer = await saveDatasetAction({ workflowId, dataset: { name: `Dataset ${datasets.length + 1}`, rows: [], assertions: [] } });
    if (!answer.ok) return setNotice({ kind: "error", text: answer.error.message });
    await refreshLists();
    await openDataset(answer.data.id);
  };

  const saveDraft = async () => {
    if (!current || !draft) return;
    setNotice(null);
    setProblems({});
    setRowProblems({});
    const answer = await saveDatasetAction({ workflowId, datasetId: current.id, baseVersion: current.latestVersion, dataset: draft });
    if (!answer.ok) {
      // Each problem under the assertion it is about ("assertions[1].value: …", "rows[4].assertions[0].key: …").
      const byIndex: Record<number, string> = {};
      const byRow: Record<number, Record<number, string>> = {};
      for (const issue of answer.error.issues ?? []) {
        const match = /^assertions\[(\d+)\]/.exec(issue.path);
        if (match) byIndex[Number(match[1])] ??= issue.message;
        const inRow = /^rows\[(\d+)\]\.assertions\[(\d+)\]/.exec(issue.path);
        if (inRow) (byRow[Number(inRow[1])] ??= {})[Number(inRow[2])] ??= issue.message;
      }
      setProblems(byIndex);
      setRowProblems(byRow);
      return setNotice({ kind: "error", text: `Not saved — ${answer.error.message}` });
    }
    setNotice({ kind: "info", text: `Saved ${draft.name} as v${answer.data.version}.` });
    await refreshLists();
    await openDataset(answer.data.id);
  };

  const removeDataset = async () => {
    if (!current || !draft) return;
    if (!window.confirm(`Delete the dataset "${draft.name}" with all its versions and the evaluations that ran on it?`)) return;
    const answer = await deleteDatasetAction({ datasetId: current.id });
    if (!answer.ok) return setNotice({ kind: "error", text: answer.error.message });
    setCurrent(null);
    setDraft(null);
    setSelected(null);
    setComparison(null);
    setPicked([]);
    setNotice({ kind: "info", text: `Deleted ${draft.name}.` });
    await refreshLists();
  };

  const exportAs = async (format: "csv" | "jsonl") => {
    if (!current) return;
    const answer = await exportDatasetAction({ datasetId: current.id, version: current.version, format });
    if (!answer.ok) return setNotice({ kind: "error", text: answer.error.message });
    download(answer.data.filename, answer.data.text, format === "csv" ? "text/csv" : "application/x-ndjson");
  };

  // ── Running and results ──
  const [target, setTarget] = useState({ workflowId, versions });
  const [version, setVersion] = useState(versions[0]?.version ?? 1);
  const chooseWorkflow = async (id: string) => {
    const answer = id === workflowId ? { ok: true as const, data: versions } : await versionsAction({ workflowId: id });
    if (!answer.ok) return setNotice({ kind: "error", text: answer.error.message });
    setTarget({ workflowId: id, versions: answer.data });
    setVersion(answer.data[0]?.version ?? 1);
  };
  const [concurrency, setConcurrency] = useState(Math.min(4, props.maxConcurrency));
  const [selected, setSelected] = useState<EvaluationView | null>(props.initialEvaluation);
  const [progress, setProgress] = useState<EvalProgressView | null>(null);
  const [starting, setStarting] = useState(false);

  const openEvaluation = useCallback(async (id: string) => {
    const answer = await evaluationAction({ id });
    if (!answer.ok) return setNotice({ kind: "error", text: answer.error.message });
    setSelected(answer.data);
    setTab("results");
    // Coming back from a row's run (browser Back) reopens these results.
    window.history.replaceState(null, "", `?evaluation=${id}`);
  }, []);

  const selectedId = selected?.evaluation.id;
  // Back from a row's run restores the page from the router's cache: reopen the results the address names.
  const wanted = useSearchParams().get("evaluation");
  useEffect(() => {
    if (!wanted || selectedId === wanted) return;
    let current = true;
    void evaluationAction({ id: wanted }).then((answer) => {
      if (!current || !answer.ok) return;
      setSelected(answer.data);
      setTab("results");
    });
    return () => {
      current = false;
    };
  }, [wanted, selectedId]);
  const selectedLive = selected?.evaluation.status === "running" || selected?.evaluation.status === "queued";
  useEffect(() => {
    if (!selectedId || !selectedLive) return;
    // Server-Sent Events: counts and ETA as they change; the browser reconnects by itself.
    const source = new EventSource(`/api/evals/${selectedId}/progress`);
    let lastDone = -1;
    let lastLoad = 0;
    source.addEventListener("progress", (event) => {
      const next = JSON.parse((event as MessageEvent<string>).data) as EvalProgressView;
      setProgress(next);
      // New rows in the grid at most every 1.5 s: a large evaluation finishes many rows a second.
      if (next.done !== lastDone && Date.now() - lastLoad > 1_500) {
        lastDone = next.done;
        lastLoad = Date.now();
        void evaluationAction({ id: selectedId }).then((answer) => answer.ok && setSelected(answer.data));
      }
    });
    source.addEventListener("end", () => {
      source.close();
      void openEvaluation(selectedId);
      void refreshLists();
    });
    return () => source.close();
  }, [selectedId, selectedLive, openEvaluation, refreshLists]);

  const start = async () => {
    if (!current) return;
    setStarting(true);
    setNotice(null);
    const answer = await startEvaluationAction({ workflowId: target.workflowId, version, datasetId: current.id, datasetVersion: current.latestVersion, concurrency });
    setStarting(false);
    if (!answer.ok) return setNotice({ kind: "error", text: answer.error.message });
    setProgress({ total: answer.data.total, done: 0, passed: 0, failed: 0, running: 0, etaMs: null, status: "queued", error: null });
    await refreshLists();
    await openEvaluation(answer.data.id);
  };

  // ── Compare ──
  const [picked, setPicked] = useState<string[]>([]);
  const [comparison, setComparison] = useState<ComparisonView | null>(null);
  const compare = async () => {
    if (picked.length !== 2) return;
    // Older first: "before" is the one that ran first.
    const [a, b] = picked.map((id) => evaluations.find((e) => e.id === id)!).sort((x, y) => x.createdAt.localeCompare(y.createdAt));
    const answer = await compareAction({ before: a.id, after: b.id });
    if (!answer.ok) return setNotice({ kind: "error", text: answer.error.message });
    setComparison(answer.data);
    setTab("compare");
  };

  return (
    <div className="flex h-screen flex-col bg-zinc-50 text-zinc-900 dark:bg-zinc-950 dark:text-zinc-100" data-testid="evals-page">
      <header className="flex h-12 shrink-0 items-center gap-2 border-b border-zinc-200 bg-white px-3 dark:border-zinc-800 dark:bg-zinc-950">
        <Link href="/" className="mr-1 text-sm font-semibold tracking-tight">
          Trellis
        </Link>
        <span className="truncate text-sm font-medium">{workflowName}</span>
        <span className="text-sm text-zinc-400">/</span>
        <span className="text-sm text-zinc-600 dark:text-zinc-400">Evaluations</span>
        <div className="flex-1" />
        <Link href={`/w/${workflowId}`} className={button} data-testid="back-to-editor">
          <ArrowLeft className="h-4 w-4" /> Editor
        </Link>
      </header>
      <input
        ref={fileInput}
        type="file"
        accept=".csv,.jsonl,.ndjson,text/csv,application/x-ndjson"
        className="hidden"
        data-testid="dataset-file"
        onChange={(event) => {
          const file = event.target.files?.[0];
          event.target.value = "";
          if (file) void importFile(file);
        }}
      />
      <div className="flex min-h-0 flex-1">
        <aside className="w-72 shrink-0 overflow-y-auto border-r border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-950">
          <div className="flex items-center justify-between">
            <h2 className="text-xs font-semibold uppercase tracking-wide text-zinc-500">Datasets</h2>
            <button type="button" onClick={() => void newDataset()} className="rounded p-1 text-zinc-500 hover:bg-zinc-100 dark:hover:bg-zinc-800" title="New empty dataset" aria-label="New dataset" data-testid="dataset-new">
              <Plus className="h-4 w-4" />
            </button>
          </div>
          <ul className="mt-1.5 space-y-0.5" data-testid="dataset-list">
            {datasets.map((d) => (
              <li key={d.id}>
                <button
                  type="button"
                  onClick={() => void openDataset(d.id)}
                  className={`w-full rounded-md px-2 py-1.5 text-left text-sm ${current?.id === d.id ? "bg-sky-50 text-sky-900 dark:bg-sky-950 dark:text-sky-200" : "hover:bg-zinc-100 dark:hover:bg-zinc-800"}`}
                >
                  <div className="truncate font-medium">{d.name}</div>
                  <div className="text-xs text-zinc-500">
                    {d.rows} row{d.rows === 1 ? "" : "s"} · v{d.latestVersion}
                  </div>
                </button>
              </li>
            ))}
            {!datasets.length && <li className="px-2 py-1 text-xs text-zinc-500">No dataset yet.</li>}
          </ul>
          <button type="button" onClick={() => chooseFile()} className={`${button} mt-2 w-full justify-center`} data-testid="dataset-import">
            <FileUp className="h-4 w-4" /> Import CSV or JSONL
          </button>

          <div className="mt-6 flex items-center justify-between">
            <h2 className="text-xs font-semibold uppercase tracking-wide text-zinc-500">Evaluations</h2>
            <button type="button" disabled={picked.length !== 2} onClick={() => void compare()} className="inline-flex items-center gap-1 rounded px-1.5 py-0.5 text-xs font-medium text-sky-700 hover:bg-sky-50 disabled:text-zinc-400 disabled:hover:bg-transparent dark:text-sky-400 dark:hover:bg-sky-950" data-testid="compare" title="Tick two evaluations to compare them">
              <GitCompare className="h-3.5 w-3.5" /> Compare{picked.length ? ` (${picked.length}/2)` : ""}
            </button>
          </div>
          <ul className="mt-1.5 space-y-0.5" data-testid="evaluation-list">
            {evaluations.map((e) => (
              <li key={e.id} className={`flex items-start gap-2 rounded-md px-2 py-1.5 ${selected?.evaluation.id === e.id ? "bg-sky-50 dark:bg-sky-950" : "hover:bg-zinc-100 dark:hover:bg-zinc-800"}`} data-testid="evaluation-item" data-evaluation-id={e.id}>
                <input
                  type="checkbox"
                  className="mt-1"
                  aria-label="Pick to compare"
                  checked={picked.includes(e.id)}
                  onChange={(event) => setPicked(event.target.checked ? [...picked.filter((id) => id !== e.id), e.id].slice(-2) : picked.filter((id) => id !== e.id))}
                  data-testid="evaluation-pick"
                />
                <button type="button" onClick={() => void openEvaluation(e.id)} className="min-w-0 flex-1 text-left" data-testid="evaluation-open">
                  <div className="flex items-center gap-1.5 text-sm">
                    <span className="truncate font-medium">
                      {e.workflowId === workflowId ? `v${e.version}` : `${e.workflowName} v${e.version}`}
                    </span>
                    <span className="truncate text-zinc-500">· {e.datasetName}</span>
                  </div>
                  <div className="mt-0.5 flex items-center gap-1.5 whitespace-nowrap text-xs text-zinc-500">
                    <StatusBadge status={e.status} />
                    {e.summary && <span className="tabular-nums">{percent(e.summary.passRate)} pass</span>}
                    <span className="ml-auto tabular-nums" title={`${when(e.createdAt)} UTC`}>
                      {when(e.createdAt).slice(5)}
                    </span>
                  </div>
                </button>
              </li>
            ))}
            {!evaluations.length && <li className="px-2 py-1 text-xs text-zinc-500">No evaluation yet.</li>}
          </ul>
        </aside>

        <main className="min-w-0 flex-1 overflow-y-auto">
          <nav className="sticky top-0 z-20 flex gap-1 border-b border-zinc-200 bg-zinc-50/95 px-5 pt-3 backdrop-blur dark:border-zinc-800 dark:bg-zinc-950/95">
            {(["dataset", "results", "compare"] as const).map((t) => (
              <button
                key={t}
                type="button"
                onClick={() => setTab(t)}
                disabled={(t === "results" && !selected) || (t === "compare" && !comparison)}
                className={`-mb-px border-b-2 px-3 pb-2 text-sm font-medium capitalize disabled:opacity-40 ${tab === t ? "border-sky-600 text-sky-700 dark:text-sky-400" : "border-transparent text-zinc-600 hover:text-zinc-900 dark:text-zinc-400"}`}
                data-testid={`tab-${t}`}
              >
                {t}
              </button>
            ))}
          </nav>
          <div className="space-y-4 p-5">
            {notice && (
              <div className={`rounded-md px-3 py-2 text-sm ${notice.kind === "error" ? "bg-red-50 text-red-800 dark:bg-red-950 dark:text-red-200" : "bg-emerald-50 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200"}`} data-testid="notice" role={notice.kind === "error" ? "alert" : "status"}>
                {notice.text}
              </div>
            )}
            {importIssues && (
              <div className="rounded-md border border-red-200 bg-red-50 p-3 text-sm text-red-900 dark:border-red-900 dark:bg-red-950 dark:text-red-100" data-testid="import-issues" role="alert">
                <div className="font-medium">Nothing was imported: fix these and import the file again.</div>
                <ul className="mt-1.5 max-h-48 list-disc space-y-0.5 overflow-auto pl-5">
                  {importIssues.map((issue, i) => (
                    <li key={i} data-testid="import-issue">
                      {issue.message}
                    </li>
                  ))}
                </ul>
              </div>
            )}

            {tab === "dataset" &&
              (current && draft ? (
                <>
                  <section className="space-y-2">
                    <div className="flex flex-wrap items-center gap-2">
                      <input
                        aria-label="Dataset name"
                        value={draft.name}
                        onChange={(event) => setDraft({ ...draft, name: event.target.value })}
                        className="h-8 w-72 rounded-md border border-transparent bg-transparent px-2 text-base font-semibold hover:border-zinc-200 focus:border-sky-500 focus:outline-none dark:hover:border-zinc-700"
                        data-testid="dataset-name"
                      />
                      <span className="text-xs text-zinc-500" data-testid="dataset-version">
                        v{current.version}
                        {dirty ? " · unsaved changes" : ""}
                      </span>
                      <div className="flex-1" />
                      <button type="button" onClick={() => chooseFile(current.id)} className={button} data-testid="dataset-replace" title="Replace the rows from a file (the assertions stay)">
                        <FileUp className="h-4 w-4" /> Replace rows
                      </button>
                      <button type="button" onClick={() => void exportAs("csv")} className={button} data-testid="export-csv">
                        <Download className="h-4 w-4" /> CSV
                      </button>
                      <button type="button" onClick={() => void exportAs("jsonl")} className={button} data-testid="export-jsonl">
                        <Download className="h-4 w-4" /> JSONL
                      </button>
                      <button type="button" onClick={() => void removeDataset()} className={button} data-testid="dataset-delete" aria-label="Delete dataset" title="Delete this dataset">
                        <Trash2 className="h-4 w-4" />
                      </button>
                      <button type="button" onClick={() => void saveDraft()} disabled={!dirty} className={primary} data-testid="dataset-save">
                        <Save className="h-4 w-4" /> Save
                      </button>
                    </div>
                    <DatasetGrid
                      rows={draft.rows}
                      onChange={(rows: DatasetRow[]) => setDraft({ ...draft, rows })}
                      inputs={inputs}
                      outputKeys={outputKeys}
                      models={models}
                      canEmbed={props.canEmbed}
                      datasetAssertionIds={draft.assertions.map((a) => a.id)}
                      rowProblems={rowProblems}
                    />
                  </section>
                  <section className="space-y-2">
                    <h3 className="text-sm font-semibold">Assertions</h3>
                    <p className="text-xs text-zinc-500">Every row is checked by each of these. A row passes when its run succeeded and every assertion passed.</p>
                    <AssertionsEditor assertions={draft.assertions} onChange={(assertions: Assertion[]) => setDraft({ ...draft, assertions })} outputKeys={outputKeys} models={models} problems={problems} canEmbed={props.canEmbed} />
                  </section>
                  <section className="rounded-lg border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900" data-testid="run-form">
                    <div className="flex flex-wrap items-end gap-3">
                      {props.workflows.length > 1 && (
                        <label className="text-xs text-zinc-600 dark:text-zinc-400">
                          Workflow
                          <select value={target.workflowId} onChange={(event) => void chooseWorkflow(event.target.value)} className="mt-1 block h-8 w-56 rounded-md border border-zinc-300 bg-white px-2 text-sm dark:border-zinc-700 dark:bg-zinc-900" data-testid="run-workflow">
                            {props.workflows.map((w) => (
                              <option key={w.id} value={w.id}>
                                {w.id === workflowId ? `${w.name} (this one)` : w.name}
                              </option>
                            ))}
                          </select>
                        </label>
                      )}
                      <label className="text-xs text-zinc-600 dark:text-zinc-400">
                        Version
                        <select value={version} onChange={(event) => setVersion(Number(event.target.value))} className="mt-1 block h-8 w-72 rounded-md border border-zinc-300 bg-white px-2 text-sm dark:border-zinc-700 dark:bg-zinc-900" data-testid="run-version">
                          {target.versions.map((v) => (
                            <option key={v.version} value={v.version}>
                              v{v.version} — {v.summary.slice(0, 60)}
                            </option>
                          ))}
                        </select>
                      </label>
                      <label className="text-xs text-zinc-600 dark:text-zinc-400">
                        Rows at once (at most {props.maxConcurrency})
                        <input type="number" min={1} max={props.maxConcurrency} value={concurrency} onChange={(event) => setConcurrency(Math.max(1, Math.min(props.maxConcurrency, Math.floor(Number(event.target.value) || 1))))} className="mt-1 block h-8 w-24 rounded-md border border-zinc-300 bg-white px-2 text-sm dark:border-zinc-700 dark:bg-zinc-900" data-testid="run-concurrency" />
                      </label>
                      <button type="button" onClick={() => void start()} disabled={starting || dirty || !draft.rows.length} className={primary} data-testid="run-evaluation" title={dirty ? "Save the dataset first" : undefined}>
                        <Play className="h-4 w-4" /> Run evaluation
                      </button>
                      {dirty && <span className="text-xs text-amber-700 dark:text-amber-400">Save the dataset to run it.</span>}
                      <span className="ml-auto text-xs text-zinc-500">
                        {draft.rows.length} row{draft.rows.length === 1 ? "" : "s"} · {draft.assertions.length} assertion{draft.assertions.length === 1 ? "" : "s"}
                        {rowCheckCount(draft) > 0 && ` · ${rowCheckCount(draft)} row check${rowCheckCount(draft) === 1 ? "" : "s"}`}
                      </span>
                    </div>
                  </section>
                </>
              ) : (
                <div className="rounded-lg border border-dashed border-zinc-300 p-8 text-center text-sm text-zinc-600 dark:border-zinc-700 dark:text-zinc-400">
                  <p>A dataset is rows of inputs for this workflow ({inputs.map((i) => i.key).join(", ") || "no inputs"}), plus optional expected values.</p>
                  <div className="mt-3 flex justify-center gap-2">
                    <button type="button" onClick={() => chooseFile()} className={primary}>
                      <FileUp className="h-4 w-4" /> Import CSV or JSONL
                    </button>
                    <button type="button" onClick={() => void newDataset()} className={button}>
                      <Plus className="h-4 w-4" /> Empty dataset
                    </button>
                  </div>
                </div>
              ))}

            {tab === "results" && selected && (
              <section className="space-y-4" data-testid="results">
                <div className="flex flex-wrap items-center gap-2">
                  <h2 className="text-base font-semibold" data-testid="results-title">
                    {sideLabel(selected)} · {selected.evaluation.datasetName} v{selected.evaluation.datasetVersion}
                  </h2>
                  <StatusBadge status={selected.evaluation.status} />
                  <span className="text-xs text-zinc-500">
                    {when(selected.evaluation.createdAt)} UTC · {selected.evaluation.concurrency} at once
                  </span>
                </div>
                {selectedLive && progress && <ProgressBar progress={progress} onCancel={() => void cancelEvaluationAction({ id: selected.evaluation.id })} />}
                {selected.evaluation.error && !selectedLive && (
                  <div className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-200" data-testid="eval-error">
                    {selected.evaluation.error.message}
                  </div>
                )}
                <SummaryCards view={selected} />
                <ResultsGrid view={selected} workflowId={selected.evaluation.workflowId} />
                {!selectedLive && <SharePanel evaluationId={selected.evaluation.id} what="evaluation" />}
              </section>
            )}

            {tab === "compare" && comparison && (
              <section className="space-y-4">
                <h2 className="text-base font-semibold" data-testid="compare-title">
                  {sideLabel(comparison.before)} → {sideLabel(comparison.after)} · {comparison.after.evaluation.datasetName}
                </h2>
                <CompareView view={comparison} />
                <SharePanel evaluationId={comparison.before.evaluation.id} afterId={comparison.after.evaluation.id} what="comparison" />
              </section>
            )}
          </div>
        </main>
      </div>
    </div>
  );
}

function ProgressBar({ progress, onCancel }: { progress: EvalProgressView; onCancel: () => void }) {
  const share = progress.total ? progress.done / progress.total : 0;
  return (
    <div className="rounded-lg border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900" data-testid="eval-progress">
      <div className="flex items-center gap-3 text-sm">
        <span className="font-medium tabular-nums" data-testid="progress-counts">
          {progress.done} / {progress.total} rows
        </span>
        <span className="text-xs text-emerald-700 dark:text-emerald-400">{progress.passed} passed</span>
        <span className="text-xs text-red-700 dark:text-red-400">{progress.failed} failed</span>
        <span className="text-xs text-zinc-500">{progress.running} running</span>
        <span className="text-xs text-zinc-500" data-testid="progress-eta">
          {progress.etaMs === null ? "estimating time left…" : `about ${duration(progress.etaMs)} left`}
        </span>
        <button type="button" onClick={onCancel} className="ml-auto inline-flex h-8 items-center gap-1.5 rounded-md bg-red-600 px-3 text-sm font-medium text-white hover:bg-red-700" data-testid="eval-cancel">
          <Square className="h-3.5 w-3.5" /> Cancel
        </button>
      </div>
      <div className="mt-2 h-2 overflow-hidden rounded-full bg-zinc-100 dark:bg-zinc-800" role="progressbar" aria-valuemin={0} aria-valuemax={progress.total} aria-valuenow={progress.done}>
        <div className="h-full rounded-full bg-sky-600 transition-[width] duration-300" style={{ width: `${Math.round(share * 100)}%` }} />
      </div>
    </div>
  );
}

/** The checks rows have of their own, over the whole dataset. */
function rowCheckCount(dataset: Dataset): number {
  return dataset.rows.reduce((count, row) => count + (row.assertions?.length ?? 0), 0);
}
