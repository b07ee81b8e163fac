import { EvaluationNotShared } from "@/components/evals/SharedEvaluation";

/** An unshared or unknown evaluation link: a 404 that says what happened. */
export default function SharedEvaluationNotFound() {
  return <EvaluationNotShared />;
}
