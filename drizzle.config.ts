import { defineConfig } from "drizzle-kit";

/** `npm run db:generate` writes a migration for each change of the schema; the SQL is committed and applied at start-up. */
export default defineConfig({
  dialect: "postgresql",
  schema: "./lib/server/db/schema.ts",
  out: "./lib/server/db/migrations",
});
