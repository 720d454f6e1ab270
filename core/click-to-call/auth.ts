// Token checks and a small per-address rate limit for the click-to-call/routing endpoints.
import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time comparison (hashing first makes the lengths equal, so the length does not leak either). */
export function sameSecret(given: string, expected: string): boolean {
  if (expected === '') return false;
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** Fixed one-minute windows per key (client address + endpoint); bounded memory. */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  constructor(private readonly perMinute: number, private readonly now: () => number = Date.now) {}

  /** true = allowed. */
  take(key: string): boolean {
    const t = this.now();
    const w = this.windows.get(key);
    if (w === undefined || t - w.start >= 60_000) {
      if (this.windows.size > 50_000) this.windows.clear();
      this.windows.set(key, { start: t, count: 1 });
      return true;
    }
    w.count += 1;
    return w.count <= this.perMinute;
  }
}
