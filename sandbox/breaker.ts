// Circuit breaker per loaded hook: after `failureThreshold` consecutive failures the hook is skipped for
// `coolDownMs` (the caller applies the hook's default), then one call is let through; a success closes it.

export interface BreakerSettings {
  failureThreshold: number;
  coolDownMs: number;
}

export const DEFAULT_BREAKER: BreakerSettings = { failureThreshold: 5, coolDownMs: 30_000 };

export interface HookHealth {
  state: 'active' | 'cooling_down';
  consecutiveFailures: number;
  coolingDownUntil: number | null;
}

export class CircuitBreaker {
  #failures = 0;
  #until: number | null = null;
  readonly #settings: BreakerSettings;
  readonly #now: () => number;

  constructor(settings: BreakerSettings, now: () => number = Date.now) {
    this.#settings = settings;
    this.#now = now;
  }

  get health(): HookHealth {
    const cooling = this.#until !== null && this.#now() < this.#until;
    return { state: cooling ? 'cooling_down' : 'active', consecutiveFailures: this.#failures, coolingDownUntil: cooling ? this.#until : null };
  }

  /** The time until which calls are refused, or null when a call may run now. */
  blockedUntil(): number | null {
    return this.#until !== null && this.#now() < this.#until ? this.#until : null;
  }

  success(): void {
    this.#failures = 0;
    this.#until = null;
  }

  /** Records a failure; returns true when this failure opened the breaker. */
  failure(): boolean {
    this.#failures++;
    if (this.#failures >= this.#settings.failureThreshold && this.blockedUntil() === null) {
      this.#until = this.#now() + this.#settings.coolDownMs;
      return true;
    }
    return false;
  }
}
