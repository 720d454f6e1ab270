// The two Bitrix24 limits (crm-apis.md §1.12, limits.md):
// - the request-intensity leaky bucket per portal: each HTTP request adds 1 to a counter that drains by
//   Y per second; a request that would take it above X is answered 503 QUERY_LIMIT_EXCEEDED (and does not
//   count, so a client that pauses recovers). A batch is one request.
// - the per-method execution-time budget: each method's execution time is summed in 10 buckets covering
//   a sliding window (10 minutes on the cloud); above the budget (480 s) that method is answered
//   429 OPERATION_TIME_LIMIT until enough old buckets expire. Every answer reports `time.operating`
//   (the method's sum) and `time.operating_reset_at` (when the oldest part is released).

export interface LeakyBucketOptions {
  /** Y: drain per second (2 on most plans). */
  requestsPerSecond: number;
  /** X: the threshold (50 on most plans). */
  burst: number;
}

export class LeakyBucket {
  private level = 0;
  private at = 0;
  constructor(private readonly options: LeakyBucketOptions) {}

  /** Counts one request; false when it is over the threshold (the caller answers 503). */
  take(nowMs: number): boolean {
    this.drain(nowMs);
    if (this.level + 1 > this.options.burst) return false;
    this.level += 1;
    return true;
  }

  /** The counter now (for tests and the demo summary). */
  levelAt(nowMs: number): number {
    this.drain(nowMs);
    return this.level;
  }

  private drain(nowMs: number): void {
    if (this.at !== 0) this.level = Math.max(0, this.level - ((nowMs - this.at) / 1000) * this.options.requestsPerSecond);
    this.at = nowMs;
  }
}

export interface OperatingBudgetOptions {
  /** Whether a method over budget is refused with 429 (the sums are reported in `time` either way). */
  enabled: boolean;
  /** Allowed execution seconds per method within the window (480 on the cloud). */
  budgetSeconds: number;
  /** The sliding window (10 minutes on the cloud), split into 10 buckets. */
  windowMs: number;
}

interface Bucket {
  startMs: number;
  seconds: number;
}

export class OperatingBudget {
  private readonly byMethod = new Map<string, Bucket[]>();
  constructor(readonly options: OperatingBudgetOptions) {}

  private buckets(method: string, nowMs: number): Bucket[] {
    const list = (this.byMethod.get(method) ?? []).filter((b) => b.startMs > nowMs - this.options.windowMs);
    this.byMethod.set(method, list);
    return list;
  }

  /** Seconds the method used in the window. */
  operating(method: string, nowMs: number): number {
    return this.buckets(method, nowMs).reduce((sum, b) => sum + b.seconds, 0);
  }

  /** Unix seconds when the oldest bucket of the method leaves the window (now when it has none). */
  resetAt(method: string, nowMs: number): number {
    const first = this.buckets(method, nowMs)[0];
    return Math.ceil((first === undefined ? nowMs : first.startMs + this.options.windowMs) / 1000);
  }

  blocked(method: string, nowMs: number): boolean {
    return this.options.enabled && this.operating(method, nowMs) >= this.options.budgetSeconds;
  }

  add(method: string, seconds: number, nowMs: number): void {
    const list = this.buckets(method, nowMs);
    const bucketMs = this.options.windowMs / 10;
    const start = Math.floor(nowMs / bucketMs) * bucketMs;
    const last = list[list.length - 1];
    if (last !== undefined && last.startMs === start) last.seconds += seconds;
    else list.push({ startMs: start, seconds });
  }
}
