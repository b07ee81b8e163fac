import { z } from "zod";
import { CURRENT_VERSION, DocumentSchema } from "./schema";

/** The published JSON Schema of the document (public/schema/workflow.v1.json), generated from zod. */
export function documentJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(DocumentSchema, { target: "draft-2020-12", io: "input", unrepresentable: "any" });
  return {
    ...generated,
    $id: `/schema/workflow.v${CURRENT_VERSION}.json`,
    title: "Trellis workflow document",
    description: "A Trellis workflow (format trellis.workflow). Generated from the zod schema in lib/workflow/schema.ts; do not edit by hand.",
  };
}

export const JSON_SCHEMA_PATH = `public/schema/workflow.v${CURRENT_VERSION}.json`;
