/** Writes the published JSON Schema of the document: `npm run schema`. A unit test fails when it is stale. */
import { writeFileSync } from "node:fs";
import { documentJsonSchema, JSON_SCHEMA_PATH } from "@/lib/workflow/json-schema";

writeFileSync(JSON_SCHEMA_PATH, `${JSON.stringify(documentJsonSchema(), null, 2)}\n`);
console.log(`wrote ${JSON_SCHEMA_PATH}`);
