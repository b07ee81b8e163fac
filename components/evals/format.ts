/** How the evaluation pages write numbers: short, and the same everywhere. */

export const percent = (rate: number) => `${Math.round(rate * 1000) / 10}%`;

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function cost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined) return "unknown";
  if (usd === 0) return "$0";
  if (usd < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2)}`;
}

export const tokens = (usage: { inputTokens: number; outputTokens: number }) => (usage.inputTokens + usage.outputTokens).toLocaleString("en");

/** A signed difference, e.g. "+12.5 pts", "−120 ms". */
export function signed(value: number, unit: (abs: number) => string): string {
  if (value === 0) return `±${unit(0)}`;
  return `${value > 0 ? "+" : "−"}${unit(Math.abs(value))}`;
}

/** A value of any output as one line of text (objects as JSON). */
export function asText(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value, null, 2);
}

export const when = (iso: string) => iso.slice(0, 16).replace("T", " ");
