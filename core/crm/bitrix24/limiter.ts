// The connector's side of Bitrix24's leaky bucket: a token bucket with a priority queue.
// - Tokens refill continuously at `ratePerSecond`; the bucket holds at most `capacity`, which the client
//   sets a margin below the portal's burst (timing jitter, other apps on the same IP share the portal's
//   counter), so a full bucket spent at once still fits under the portal's threshold.
// - Waiting requests are served smallest `priority` first (the pipeline passes the call's start time: the
//   oldest call drains first), equal priorities in arrival order.
// - After a 503 QUERY_LIMIT_EXCEEDED the portal's counter is at its threshold: `penalize` empties the
//   bucket into debt so nothing is sent until the portal has drained that much, instead of hammering.
// No library (see docs/bitrix24.md): bottleneck has 10 priority levels, not arbitrary numbers; p-queue's
// interval cap is a fixed window (up to twice the cap across a window edge) and has no debt after a 503.

interface Waiter {
  priority: number;
  seq: number;
  resolve: () => void;
  reject: (reason: Error) => void;
  done: boolean;
}

export class LimiterClosedError extends Error {}

export class PriorityTokenBucket {
  private tokens: number;
  private last: number;
  private seq = 0;
  private readonly heap: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private live = 0;

  constructor(
    private readonly ratePerSecond: number,
    readonly capacity: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  /** Requests waiting for a token. */
  get queued(): number {
    return this.live;
  }

  /** Resolves when this request may be sent; rejects when aborted or the limiter is closed. */
  acquire(priority: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new Error('aborted'));
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { priority, seq: this.seq++, resolve, reject, done: false };
      signal?.addEventListener('abort', () => this.cancel(w, new Error('aborted')), { once: true });
      this.push(w);
      this.live++;
      this.pump();
    });
  }

  /**
   * After a 503: no token until the portal has drained `debtTokens` more; returns that wait in ms. Not
   * cumulative: several 503s of one burst describe the same overflow of the portal's counter.
   */
  penalize(debtTokens: number): number {
    this.refill();
    this.tokens = Math.min(this.tokens, -debtTokens);
    this.schedule();
    return Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
  }

  /** Milliseconds until the next token (0 when one is there). */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
  }

  /** Rejects every waiter (they were never sent). */
  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const w of this.heap.splice(0)) this.cancel(w, new LimiterClosedError('closed'));
  }

  private cancel(w: Waiter, reason: Error): void {
    if (w.done) return;
    w.done = true;
    this.live--;
    w.reject(reason);
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
  }

  private pump(): void {
    this.refill();
    while (this.heap.length > 0 && this.tokens >= 1) {
      const w = this.pop()!;
      if (w.done) continue;
      w.done = true;
      this.live--;
      this.tokens -= 1;
      w.resolve();
    }
    while (this.heap.length > 0 && this.heap[0]!.done) this.pop();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null || this.heap.length === 0) return;
    const ms = Math.max(1, Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, ms);
  }

  private before(a: Waiter, b: Waiter): boolean {
    return a.priority < b.priority || (a.priority === b.priority && a.seq < b.seq);
  }

  private push(w: Waiter): void {
    const h = this.heap;
    h.push(w);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): Waiter | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.before(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** The local capacity for a portal burst: 20 % below it (at least one request), so the portal never sees more than its threshold. */
export function capacityFor(burst: number): number {
  return Math.max(1, burst - Math.max(1, Math.ceil(burst * 0.2)));
}
