import { openDatabase } from "@/lib/server/db/connect";

/** Opens DATABASE_URL (applying the migrations) and closes it: the migration race test starts several at once. */
const url = process.env.DATABASE_URL;
if (!url) throw new Error("DATABASE_URL is required");
const database = await openDatabase({ url });
await database.close();
console.log("migrated");
