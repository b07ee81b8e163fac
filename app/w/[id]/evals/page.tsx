import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { EvalsPage } from "@/components/evals/EvalsPage";
import { producedKeys } from "@/lib/workflow/eval";
import { datasetOf, datasetsOf, embeddingsConfigured, evaluationDetail, evaluationsOf, maxEvalConcurrency, versionsOf } from "@/lib/server/evals";
import { modelOptions } from "@/lib/server/models";
import { loadWorkflow, myWorkflows } from "@/lib/server/workflows";

export const metadata: Metadata = { title: "Evaluations — Trellis" };
export const dynamic = "force-dynamic";

/** Evaluations of one of the owner's saved workflows; anyone else's id is a 404, like a missing one. */
export default async function EvaluationsPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<{ evaluation?: string | string[] }> }) {
  const { id } = await params;
  const { evaluation } = await searchParams;
  const found = await loadWorkflow(id);
  if (!found) notFound();
  const [versions, datasets, evaluations, workflows] = await Promise.all([versionsOf({ workflowId: id }), datasetsOf({ workflowId: id }), evaluationsOf({ workflowId: id }), myWorkflows()]);
  if (!versions.ok || !datasets.ok || !evaluations.ok) notFound();
  const { document } = found;
  const first = datasets.data[0] ? await datasetOf({ datasetId: datasets.data[0].id }) : null;
  // Only an evaluation listed here (of this workflow or over its datasets); anything else opens nothing.
  const opened = typeof evaluation === "string" && evaluations.data.some((e) => e.id === evaluation) ? await evaluationDetail({ id: evaluation }) : null;
  const inputKeys = new Set(document.inputs.map((input) => input.key));
  return (
    <EvalsPage
      workflowId={id}
      workflowName={document.name}
      versions={versions.data}
      inputs={document.inputs.map((input) => ({ key: input.key, label: input.label ?? input.key, type: input.type }))}
      outputKeys={[...producedKeys(document)].filter((key) => !inputKeys.has(key))}
      models={modelOptions().map(({ id: modelId, label }) => ({ id: modelId, label }))}
      datasets={datasets.data}
      evaluations={evaluations.data}
      initialDataset={first?.ok ? first.data : null}
      workflows={workflows.map((w) => ({ id: w.id, name: w.name }))}
      canEmbed={embeddingsConfigured()}
      maxConcurrency={maxEvalConcurrency()}
      initialEvaluation={opened?.ok ? opened.data : null}
    />
  );
}
