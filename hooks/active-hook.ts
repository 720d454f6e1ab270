// One loaded version of one hook file, shared by every generation that contains it. It is disposed
// only when it has been retired (replaced, deleted, disabled) AND no invocation still holds it, or
// when the drain deadline passes - so an in-flight call always finishes on the version it started with.
import { CircuitBreaker, type BreakerSettings } from '../sandbox/breaker.js';
import type { HookPointName } from './catalogue.js';
import type { LoadedHookLike } from './engine.js';
import { HookStats } from './stats.js';

export type HookOrigin = { kind: 'file' } | { kind: 'pack'; name: string; version: string };

export interface HookIdentity {
  /** Stable key of the file across versions: 'file:<name>' or 'pack:<pack>/<name>'. */
  key: string;
  point: HookPointName;
  displayName: string;
  file: string;
  origin: HookOrigin;
  /** Sort key: packs (in settings order, then manifest order) before loose files (by name). */
  orderKey: string;
}

export class ActiveHook {
  readonly stats = new HookStats();
  /**
   * Results the host refuses (HOOK_BAD_RESULT against the point's output schema, HOOK_PATH_REFUSED) are
   * failures the sandbox never sees: to the sandbox the call returned. They open this breaker after the
   * same number in a row as the sandbox's own (sandbox.circuit_breaker), so a hook that keeps returning
   * garbage cools down like one that keeps throwing. An accepted result closes it.
   */
  readonly resultBreaker: CircuitBreaker;
  readonly loadedAt = new Date();
  private inflight = 0;
  private retired = false;
  private disposed = false;
  private deadline: NodeJS.Timeout | null = null;

  constructor(
    readonly id: HookIdentity,
    readonly contentHash: string,
    readonly loaded: LoadedHookLike,
    private readonly onDisposeError: (err: unknown) => void,
    breaker: BreakerSettings,
  ) {
    this.resultBreaker = new CircuitBreaker(breaker);
    this.source = id.origin.kind === 'pack' ? `${id.origin.name}@${id.origin.version}` : 'file';
  }

  /** 'file' or '<pack>@<version>' (shown in traces and status). */
  readonly source: string;

  acquire(): void {
    this.inflight++;
  }

  release(): void {
    this.inflight--;
    if (this.retired && this.inflight === 0) void this.dispose();
  }

  /** Skipped until a cool-down ends: by the sandbox's breaker (failed calls) or the host's (refused results). */
  get coolingDown(): boolean {
    return this.loaded.health.state === 'cooling_down' || this.resultBreaker.blockedUntil() !== null;
  }

  get inFlight(): number {
    return this.inflight;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Called when a newer generation no longer contains this version. */
  retire(drainDeadlineMs: number): void {
    if (this.retired) return;
    this.retired = true;
    if (this.inflight === 0) {
      void this.dispose();
      return;
    }
    // A hung invocation must not keep an isolate alive forever.
    this.deadline = setTimeout(() => void this.dispose(), drainDeadlineMs);
    this.deadline.unref();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.deadline) clearTimeout(this.deadline);
    try {
      await this.loaded.dispose();
    } catch (err) {
      this.onDisposeError(err);
    }
  }
}
