import { cosineSimilarity } from "../engine/model-port";
import type { WorkflowDocument, WorkflowNode } from "../schema";
import { cosine, termVector } from "./text";

/**
 * Agreement across parallel outputs (AdaptOrch's consistency scoring of parallel agents): pairwise
 * similarity of the branch outputs — lexical by default, cosine of embeddings when the aggregate
 * names an embedding model — an overall score, and the branches that stand apart. Similarity is a
 * proxy — it sees shared content, not shared claims — so the report is evidence for a verifying step
 * (the synthesizer reads `conflicts`), never a verdict by itself.
 */

/** Below this mean pairwise similarity the branches are reported as disagreeing. */
export const DEFAULT_AGREEMENT_THRESHOLD = 0.2;
/** A branch is an outlier when its mean similarity to the others is below this share of the branches' median. */
export const OUTLIER_RATIO = 0.5;
/** …and at least this far below it in absolute terms, so near-zero noise does not make outliers. */
export const OUTLIER_MIN_GAP = 0.05;

/** The most re-run rounds an aggregate may ask for; the run's limits can stop it sooner. */
export const MAX_RERUN_ROUNDS = 5;
/** How much of each other branch's answer a re-run step is shown (characters). */
export const RECHECK_PEER_CHARS = 1_500;
/** Opens the note appended to a re-run branch's prompts (the demo model answers it by reconciling). */
export const RECHECK_MARKER = "[Agreement check]";

/** One re-run round of an aggregate: which branches ran again, and the agreement before and after. */
export type AgreementRound = { round: number; rerun: string[]; before: number | null; after: number | null };

export type AgreementReport = {
  method: "lexical" | "embedding";
  /** The embedding model, when the method is `embedding`. */
  model?: string;
  /** Mean pairwise similarity, 0–1; null with fewer than two branches. */
  score: number | null;
  threshold: number;
  /** The score reaches the threshold and no branch stands apart. */
  agrees: boolean;
  /** Each branch's mean similarity to the others. */
  branches: Array<{ key: string; agreement: number }>;
  /** Keys of the branches that stand apart. */
  outliers: string[];
  pairs: Array<{ a: string; b: string; similarity: number }>;
  /** For a synthesizer: what to check before combining ("" when nothing stands out). */
  conflicts: string;
  /** One line for people. */
  summary: string;
  /** Re-run rounds so far (the re-run policy): absent when none ran. */
  rounds?: AgreementRound[];
  /** Set on a round that asked for a re-run: the round that starts and the branches it re-runs. */
  rerun?: { round: number; keys: string[] };
  /** Why the policy did not re-run the outliers (its bound, or a run limit). */
  rerunSkipped?: string;
};

/** Similarity from embeddings instead of shared words: one vector per branch, in branch order. */
export type EmbeddingSimilarity = { model: string; vectors: ReadonlyArray<ReadonlyArray<number>> };

const round = (value: number) => Math.round(value * 100) / 100;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function agreementReport(
  branches: ReadonlyArray<{ key: string; text: string }>,
  threshold = DEFAULT_AGREEMENT_THRESHOLD,
  embedding?: EmbeddingSimilarity,
): AgreementReport {
  const method = embedding ? { method: "embedding" as const, model: embedding.model } : { method: "lexical" as const };
  if (branches.length < 2) {
    return {
      ...method,
      score: null,
      threshold,
      agrees: true,
      branches: branches.map((b) => ({ key: b.key, agreement: 1 })),
      outliers: [],
      pairs: [],
      conflicts: "",
      summary: `agreement not checked: ${branches.length === 0 ? "no branch" : "one branch"} to compare`,
    };
  }
  const vectors = embedding ? null : branches.map((b) => termVector(b.text));
  const similarityOf = (i: number, j: number) => (vectors ? cosine(vectors[i], vectors[j]) : cosineSimilarity(embedding!.vectors[i], embedding!.vectors[j]));
  const sums = new Array<number>(branches.length).fill(0);
  const pairs: AgreementReport["pairs"] = [];
  let total = 0;
  for (let i = 0; i < branches.length; i++) {
    for (let j = i + 1; j < branches.length; j++) {
      const similarity = similarityOf(i, j);
      sums[i] += similarity;
      sums[j] += similarity;
      total += similarity;
      pairs.push({ a: branches[i].key, b: branches[j].key, similarity: round(similarity) });
    }
  }
  const score = total / pairs.length;
  const means = sums.map((sum) => sum / (branches.length - 1));
  const middle = median(means);
  // With two branches both are equally far from each other: nobody is the outlier.
  const outlierIndices = branches.length < 3 ? [] : means.flatMap((m, i) => (m < middle * OUTLIER_RATIO && middle - m >= OUTLIER_MIN_GAP ? [i] : []));
  const outliers = outlierIndices.map((i) => branches[i].key);
  const agrees = score >= threshold && outliers.length === 0;
  const conflicts = [
    ...outlierIndices.map((i) => `"${branches[i].key}" stands apart from the other branches (similarity ${round(means[i])} against a median of ${round(middle)}); check it against them.`),
    ...(score < threshold && !outliers.length ? [`The branches share little (agreement ${round(score)}, below ${threshold}); reconcile them rather than concatenating them.`] : []),
  ].join(" ");
  const summary = `agreement ${round(score).toFixed(2)} across ${branches.length} branches${outliers.length ? `; outlier${outliers.length > 1 ? "s" : ""}: ${outliers.join(", ")}` : score < threshold ? "; below the threshold" : ""}`;
  return {
    ...method,
    score: round(score),
    threshold,
    agrees,
    branches: branches.map((b, i) => ({ key: b.key, agreement: round(means[i]) })),
    outliers,
    pairs,
    conflicts,
    summary,
  };
}

/**
 * The note a re-run branch's model calls get (appended to their prompt): why it runs again, and
 * what the other branches answered, so a model can reconcile — or keep its answer if it is sure.
 */
export function recheckNote(report: AgreementReport, branches: ReadonlyArray<{ key: string; text: string }>, rerun: ReadonlyArray<string>): string {
  const peers = branches.filter((b) => !rerun.includes(b.key));
  const clip = (text: string) => (text.length > RECHECK_PEER_CHARS ? `${text.slice(0, RECHECK_PEER_CHARS)}…` : text);
  return [
    `${RECHECK_MARKER} This step runs again because its answer stood apart from the parallel branches (${report.summary}).`,
    "Check your answer against theirs and answer the task again: keep what you are sure of, correct what they show to be wrong.",
    "The other branches answered:",
    ...peers.map((peer) => `--- ${peer.key} ---\n${clip(peer.text.trim())}`),
  ].join("\n\n");
}

/** The rounds so far as a sentence for a synthesizer ("" when none ran). */
export function roundsSentence(rounds: ReadonlyArray<AgreementRound> | undefined): string {
  if (!rounds?.length) return "";
  const fmt = (score: number | null) => (score === null ? "n/a" : score.toFixed(2));
  return rounds.map((r) => `Round ${r.round} re-ran ${r.rerun.join(", ")} (agreement ${fmt(r.before)} → ${fmt(r.after)}).`).join(" ");
}

/** The embedding models a document's aggregates name (checked against the server before a run). */
export function embeddingModelsUsed(doc: WorkflowDocument): Array<{ nodeId: string; model: string }> {
  return doc.nodes.flatMap((node) => (node.kind === "aggregate" && node.config.agreement?.embeddingModel ? [{ nodeId: node.id, model: node.config.agreement.embeddingModel }] : []));
}

/** The document with every aggregate that measures agreement by embeddings using `model` instead (as `withModel` does for language models). */
export function withEmbeddingModel(doc: WorkflowDocument, model: string): WorkflowDocument {
  return {
    ...doc,
    nodes: doc.nodes.map((node): WorkflowNode =>
      node.kind === "aggregate" && node.config.agreement?.embeddingModel ? { ...node, config: { ...node.config, agreement: { ...node.config.agreement, embeddingModel: model } } } : node,
    ),
  };
}
