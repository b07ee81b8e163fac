import { evaluationProgressStream } from "@/lib/server/evals";

export const dynamic = "force-dynamic";

/** An evaluation's progress as Server-Sent Events, for its owner (lib/server/evals.ts). */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return evaluationProgressStream(request, id);
}
