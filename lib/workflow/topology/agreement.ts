import { cosine, termVector } from "./text";

/**
 * Agreement across parallel outputs (AdaptOrch's consistency scoring of parallel agents): pairwise
 * lexical similarity of the branch outputs, an overall score, and the branches that stand apart.
 * Lexical similarity is a proxy — it sees shared content, not shared claims — so the report is
 * evidence for a verifying step (the synthesizer reads `conflicts`), never a verdict by itself.
 */

/** Below this mean pairwise similarity the branches are reported as disagreeing. */
export const DEFAULT_AGREEMENT_THRESHOLD = 0.2;
/** A branch is an outlier when its mean similarity to the others is below this share of the branches' median. */
export const OUTLIER_RATIO = 0.5;
/** …and at least this far below it in absolute terms, so near-zero noise does not make outliers. */
export const OUTLIER_MIN_GAP = 0.05;

export type AgreementReport = {
  method: "lexical";
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
};

const round = (value: number) => Math.round(value * 100) / 100;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function agreementReport(branches: ReadonlyArray<{ key: string; text: string }>, threshold = DEFAULT_AGREEMENT_THRESHOLD): AgreementReport {
  if (branches.length < 2) {
    return {
      method: "lexical",
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
  const vectors = branches.map((b) => termVector(b.text));
  const sums = new Array<number>(branches.length).fill(0);
  const pairs: AgreementReport["pairs"] = [];
  let total = 0;
  for (let i = 0; i < branches.length; i++) {
    for (let j = i + 1; j < branches.length; j++) {
      const similarity = cosine(vectors[i], vectors[j]);
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
    method: "lexical",
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
