/**
 * Sliding-window rate limits for the fakes whose vendor publishes "N operations per T seconds"
 * tables (Teams Bot Connector: 7/1 s, 8/2 s, 60/30 s, 1800/h per conversation; Slack's tiers).
 * Every rule of a key must admit a request; a refused request is not counted (the vendor did
 * not perform it), and the answer says which rule refused and when a slot frees.
 */
export interface WindowRule {
  /** Shown in logs and 429 records, e.g. `conversation 7/1s`. */
  name: string;
  limit: number;
  windowMs: number;
}

export interface WindowRefusal {
  rule: WindowRule;
  /** Milliseconds until the oldest hit in the refusing window leaves it. */
  retryAfterMs: number;
}

export class SlidingWindowLimiter {
  readonly rules: WindowRule[];
  readonly #hits = new Map<string, number[]>();
  readonly #horizon: number;

  constructor(rules: WindowRule[]) {
    this.rules = rules;
    this.#horizon = Math.max(0, ...rules.map((rule) => rule.windowMs));
  }

  /** Records a hit for `key` at `now` when every rule admits it; otherwise says why not. */
  take(key: string, now: number): WindowRefusal | undefined {
    const hits = (this.#hits.get(key) ?? []).filter((t) => t > now - this.#horizon);
    let refusal: WindowRefusal | undefined;
    for (const rule of this.rules) {
      const inWindow = hits.filter((t) => t > now - rule.windowMs);
      if (inWindow.length >= rule.limit) {
        const oldest = inWindow[inWindow.length - rule.limit] as number;
        const retryAfterMs = oldest + rule.windowMs - now;
        if (!refusal || retryAfterMs > refusal.retryAfterMs) refusal = { rule, retryAfterMs };
      }
    }
    if (!refusal) hits.push(now);
    this.#hits.set(key, hits);
    return refusal;
  }

  reset(): void {
    this.#hits.clear();
  }
}

/** Seconds for a `Retry-After` header: whole seconds, at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** The largest number of timestamps that fall inside any window of `windowMs` (sliding). */
export function peakCount(timestamps: number[], windowMs: number): number {
  const sorted = [...timestamps].sort((a, b) => a - b);
  let peak = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while ((sorted[end] as number) - (sorted[start] as number) >= windowMs) start += 1;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}
