"use server";

import {
  cancelEvaluation,
  compareEvaluationsOf,
  datasetOf,
  datasetsOf,
  deleteDataset,
  evaluationDetail,
  evaluationSharesOf,
  evaluationsOf,
  exportDataset,
  importDataset,
  revokeEvaluationShare,
  saveDataset,
  shareEvaluation,
  startEvaluation,
  versionsOf,
  type ComparisonView,
  type DatasetSummary,
  type DatasetView,
  type EvalActionResult,
  type EvalShareInfo,
  type EvaluationListItem,
  type EvaluationView,
} from "@/lib/server/evals";

/** Actions of the evaluations page (issue 15): each validates its request and checks ownership in lib/server/evals. */

export async function datasetsAction(request: { workflowId: string }): Promise<EvalActionResult<DatasetSummary[]>> {
  return datasetsOf(request);
}

export async function datasetAction(request: { datasetId: string; version?: number }): Promise<EvalActionResult<DatasetView>> {
  return datasetOf(request);
}

export async function saveDatasetAction(request: { workflowId: string; datasetId?: string; baseVersion?: number; dataset: unknown }): Promise<EvalActionResult<{ id: string; version: number }>> {
  return saveDataset(request);
}

export async function importDatasetAction(request: {
  workflowId: string;
  datasetId?: string;
  baseVersion?: number;
  format: "csv" | "jsonl";
  name: string;
  text: string;
}): Promise<EvalActionResult<{ id: string; version: number; rows: number }>> {
  return importDataset(request);
}

export async function exportDatasetAction(request: { datasetId: string; version?: number; format: "csv" | "jsonl" }): Promise<EvalActionResult<{ filename: string; text: string }>> {
  return exportDataset(request);
}

export async function deleteDatasetAction(request: { datasetId: string }): Promise<EvalActionResult<{ id: string }>> {
  return deleteDataset(request);
}

export async function startEvaluationAction(request: {
  workflowId: string;
  version: number;
  datasetId: string;
  datasetVersion?: number;
  concurrency: number;
}): Promise<EvalActionResult<{ id: string; total: number; concurrency: number }>> {
  return startEvaluation(request);
}

/** The saved versions of one of the caller's workflows (the run form's version picker). */
export async function versionsAction(request: { workflowId: string }): Promise<EvalActionResult<Array<{ version: number; summary: string }>>> {
  return versionsOf(request);
}

export async function cancelEvaluationAction(request: { id: string }): Promise<EvalActionResult<{ id: string }>> {
  return cancelEvaluation(request);
}

export async function evaluationsAction(request: { workflowId: string }): Promise<EvalActionResult<EvaluationListItem[]>> {
  return evaluationsOf(request);
}

export async function evaluationAction(request: { id: string }): Promise<EvalActionResult<EvaluationView>> {
  return evaluationDetail(request);
}

export async function compareAction(request: { before: string; after: string }): Promise<EvalActionResult<ComparisonView>> {
  return compareEvaluationsOf(request);
}

export async function shareEvaluationAction(request: { evaluationId: string; afterId?: string }): Promise<EvalActionResult<{ id: string }>> {
  return shareEvaluation(request);
}

export async function evaluationSharesAction(request: { evaluationId: string }): Promise<EvalActionResult<EvalShareInfo[]>> {
  return evaluationSharesOf(request);
}

export async function revokeEvaluationShareAction(request: { id: string }): Promise<EvalActionResult<{ id: string }>> {
  return revokeEvaluationShare(request);
}

export type { ComparisonView, DatasetSummary, DatasetView, EvalActionResult, EvalShareInfo, EvaluationListItem, EvaluationView };
export type { AssertionView, EvalProgressView, RowView } from "@/lib/server/evals";
