// Kommo's limit is "not more than 7 requests per second" per account, counted by the account over any
// one-second window. A token bucket allows capacity + rate requests in a window (a full bucket spent at once,
// then the refill), so it would cross the limit or, made safe, waste a seventh of it. This limiter keeps the
// send times of the last `perWindow` requests and lets the next one go only when the oldest of them is more
// than a window (plus a margin for network jitter) in the past: never more than `perWindow` sends in any
// window, and a backlog drains at the full rate. Waiters are served smallest priority first (the pipeline
// passes the call's start: the oldest call first), equal priorities in arrival order.
export class LimiterClosedError extends Error {}

interface Waiter {
  priority: number;
  seq: number;
  resolve(): void;
  reject(reason: Error): void;
  done: boolean;
}

export class SlidingWindowLimiter {
  private readonly sent: number[] = [];
  private readonly waiting: Waiter[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private blockedUntil = 0;
  private closed = false;

  constructor(
    private readonly perWindow: number,
    private readonly windowMs: number,
    private readonly marginMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get queued(): number {
    return this.waiting.filter((w) => !w.done).length;
  }

  acquire(priority: number, signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(new LimiterClosedError('closed'));
    if (signal?.aborted) return Promise.reject(new Error('aborted'));
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { priority, seq: this.seq++, resolve, reject, done: false };
      signal?.addEventListener('abort', () => {
        if (w.done) return;
        w.done = true;
        reject(new Error('aborted'));
      }, { once: true });
      // Sorted insert: backlogs are thousands at most, and the head is taken far more often than this runs.
      let i = this.waiting.length;
      while (i > 0 && (this.waiting[i - 1]!.priority > priority)) i--;
      this.waiting.splice(i, 0, w);
      this.pump();
    });
  }

  /** After a 429: nothing is sent for `ms` (the account's window is full, whoever filled it). Returns the wait. */
  pause(ms: number): number {
    this.blockedUntil = Math.max(this.blockedUntil, this.now() + ms);
    this.schedule();
    return ms;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const w of this.waiting.splice(0)) {
      if (w.done) continue;
      w.done = true;
      w.reject(new LimiterClosedError('closed'));
    }
  }

  /** Milliseconds until the next send may go (0 = now). */
  private waitMs(): number {
    const t = this.now();
    let wait = Math.max(0, this.blockedUntil - t);
    if (this.sent.length >= this.perWindow) wait = Math.max(wait, this.sent[this.sent.length - this.perWindow]! + this.windowMs + this.marginMs - t);
    return wait;
  }

  private pump(): void {
    for (;;) {
      while (this.waiting.length > 0 && this.waiting[0]!.done) this.waiting.shift();
      if (this.waiting.length === 0 || this.waitMs() > 0) break;
      const w = this.waiting.shift()!;
      w.done = true;
      this.sent.push(this.now());
      if (this.sent.length > this.perWindow) this.sent.splice(0, this.sent.length - this.perWindow);
      w.resolve();
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null || this.closed || !this.waiting.some((w) => !w.done)) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, Math.max(1, Math.ceil(this.waitMs())));
  }
}
