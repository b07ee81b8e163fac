import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { SharedEvaluation } from "@/components/evals/SharedEvaluation";
import { sharedEvaluationView } from "@/lib/server/evals";

export const metadata: Metadata = { title: "Shared evaluation — Trellis", robots: { index: false } };
export const dynamic = "force-dynamic";

/** A read-only evaluation or comparison link; revoked or unknown is a 404. */
export default async function SharedEvaluationPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const view = await sharedEvaluationView(id);
  if (view.status !== "ok") notFound();
  return <SharedEvaluation single={view.single} compared={view.compared} />;
}
