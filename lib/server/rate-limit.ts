import "server-only";

export type Taken = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * A sliding-window limit per key (an identity): at most `limit` takes in any `windowMs`.
 * In memory, per process — the same scope as the runs it guards.
 */
export class RateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  take(key: string): Taken {
    const now = this.now();
    const recent = (this.hits.get(key) ?? []).filter((at) => now - at < this.windowMs);
    if (recent.length >= this.limit) {
      this.hits.set(key, recent);
      return { ok: false, retryAfterMs: recent[0] + this.windowMs - now };
    }
    recent.push(now);
    this.hits.set(key, recent);
    if (this.hits.size > 10_000) this.sweep(now);
    return { ok: true };
  }

  private sweep(now: number) {
    for (const [key, times] of this.hits) if (!times.some((at) => now - at < this.windowMs)) this.hits.delete(key);
  }
}
