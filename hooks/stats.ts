// Per-hook-version counters and a bounded window of durations for p50/p99 (status page figures).
const WINDOW = 512;

export class HookStats {
  calls = 0;
  failures = 0;
  cancels = 0;
  private readonly durations: number[] = [];
  private next = 0;

  record(durationMs: number, outcome: 'ok' | 'failed' | 'cancelled'): void {
    this.calls++;
    if (outcome === 'failed') this.failures++;
    if (outcome === 'cancelled') this.cancels++;
    if (this.durations.length < WINDOW) this.durations.push(durationMs);
    else {
      this.durations[this.next] = durationMs;
      this.next = (this.next + 1) % WINDOW;
    }
  }

  /** Nearest-rank percentile over the last 512 invocations; null before the first. */
  percentile(p: number): number | null {
    if (this.durations.length === 0) return null;
    const sorted = [...this.durations].sort((a, b) => a - b);
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return Math.round((sorted[rank] ?? 0) * 1000) / 1000;
  }
}
