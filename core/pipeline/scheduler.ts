// Runs calls through the worker: up to `concurrency` calls at once, oldest first, each call's events
// strictly in order (one worker per call at a time), so different calls never wait on each other and
// a backlog drains oldest first. Woken by new events, by finished workers and by the soonest retry
// time; a safety poll catches anything else.
import type { Logger } from 'pino';
import type { ConnectorStore } from '../store/types.js';

export interface SchedulerOptions {
  store: ConnectorStore;
  pbx: string;
  concurrency: number;
  process(linkedid: string): Promise<unknown>;
  /** A call failed unexpectedly this many times in a row: give up on it (e.g. park it with the error). */
  onRepeatedFailure?(linkedid: string, error: unknown): Promise<void>;
  logger: Logger;
  now?(): number;
  /** Longest sleep between looks at the store (ms). */
  pollMs?: number;
}

/** After an unexpected worker error (a store outage, a bug), the call is not retried before this long. */
const ERROR_BACKOFF_MS = 5000;
/** Unexpected errors in a row after which a call is given up (parked) instead of retried forever. */
const MAX_UNEXPECTED_FAILURES = 3;

export class Scheduler {
  private readonly active = new Map<string, Promise<void>>();
  private readonly backoff = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private idleWaiters: Array<{ includeWaiting: boolean; resolve(): void }> = [];
  private readonly now: () => number;

  constructor(private readonly o: SchedulerOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.loop ??= this.run();
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  get activeCalls(): number {
    return this.active.size;
  }

  /**
   * Resolves once nothing is runnable and no worker runs; with includeWaiting, also no call waits for a
   * retry (a replay's end). Resolves at once after stop().
   */
  idle(options: { includeWaiting?: boolean } = {}): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiters.push({ includeWaiting: options.includeWaiting === true, resolve });
      this.wake();
    });
  }

  /** Takes no new call; resolves when the running workers returned (they stop between steps). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
    await Promise.allSettled([...this.active.values()]);
    for (const w of this.idleWaiters) w.resolve();
    this.idleWaiters = [];
  }

  private async run(): Promise<void> {
    const pollMs = this.o.pollMs ?? 1000;
    while (!this.stopped) {
      this.woken = false;
      let startable = 0;
      let nextAt: number | null = null;
      try {
        startable = await this.startRunnable();
        nextAt = await this.o.store.nextWakeUp(this.o.pbx);
        if (startable === 0 && this.active.size === 0) await this.settleIdleWaiters(nextAt);
      } catch (error) {
        this.o.logger.error({ err: error }, 'pipeline scheduler: the store could not be read; retrying');
      }
      if (this.stopped) break;
      if (this.woken) continue;
      const until = nextAt === null ? pollMs : Math.max(0, Math.min(pollMs, nextAt - this.now()));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, until);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = null;
    }
  }

  private async startRunnable(): Promise<number> {
    const free = this.o.concurrency - this.active.size;
    if (free <= 0) return 0;
    const at = this.now();
    const candidates = await this.o.store.runnableCalls(this.o.pbx, at, this.o.concurrency + this.active.size + this.backoff.size);
    let started = 0;
    for (const { linkedid } of candidates) {
      if (this.active.size >= this.o.concurrency || this.stopped) break;
      if (this.active.has(linkedid)) continue;
      const until = this.backoff.get(linkedid);
      if (until !== undefined && until > at) continue;
      this.backoff.delete(linkedid);
      started++;
      const work = this.o.process(linkedid).then(
        () => void this.failures.delete(linkedid),
        async (error: unknown) => {
          const failures = (this.failures.get(linkedid) ?? 0) + 1;
          this.failures.set(linkedid, failures);
          if (failures >= MAX_UNEXPECTED_FAILURES && this.o.onRepeatedFailure !== undefined) {
            this.o.logger.error({ err: error, linkedid, failures }, 'pipeline: processing the call failed unexpectedly again; it is parked');
            try {
              await this.o.onRepeatedFailure(linkedid, error);
              this.failures.delete(linkedid);
              this.backoff.delete(linkedid);
              return;
            } catch {
              // The store cannot be written either (an outage): keep retrying like any other failure.
            }
          }
          this.backoff.set(linkedid, this.now() + ERROR_BACKOFF_MS);
          this.o.logger.error({ err: error, linkedid, failures }, 'pipeline: processing the call failed unexpectedly; it is retried');
        },
      ).finally(() => {
        this.active.delete(linkedid);
        this.wake();
      });
      this.active.set(linkedid, work);
    }
    return started;
  }

  private async settleIdleWaiters(nextAt: number | null): Promise<void> {
    if (this.idleWaiters.length === 0) return;
    // A backoff entry of a call that is no longer runnable (parked meanwhile) expires by itself.
    const at = this.now();
    const waitingRetry = nextAt !== null || [...this.backoff.values()].some((until) => until > at);
    this.idleWaiters = this.idleWaiters.filter((w) => {
      if (w.includeWaiting && waitingRetry) return true;
      w.resolve();
      return false;
    });
  }
}
