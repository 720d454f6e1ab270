// Fault switches: how tests (and a curious demo user) make the portal misbehave at run time. A rule
// matches a method (case-insensitive, without `.json`; '*' or absent = every REST method; the token
// endpoint only by its own name `oauth/token`, the upload endpoint by `upload`) and may be limited to
// the next N matching requests.

export type FaultKind =
  /** Answer `status` with an error body (default 500 INTERNAL_SERVER_ERROR). */
  | 'status'
  /** Never answer (the socket stays open until the client gives up or the server closes). */
  | 'stall'
  /** Destroy the socket before the method runs. */
  | 'drop'
  /** Run the method, then destroy the socket: the request reached the CRM, the answer was lost. */
  | 'execute-then-drop'
  /** Wait `delayMs`, then handle the request normally (it runs even if the client has given up). */
  | 'slow'
  /** An HTML error page (a proxy's 502), `status` default 502. */
  | 'html'
  /** Run the method and send its JSON cut in half, as a complete HTTP answer. */
  | 'truncated'
  /** HTTP 200 with an error body inside. */
  | 'error-in-200';

export interface FaultRule {
  kind: FaultKind;
  /** Method name ('*' or absent: every REST method). */
  method?: string;
  /** Only the next N matching requests (absent: until cleared). */
  times?: number;
  status?: number;
  error?: string;
  description?: string;
  /** `slow`: the delay. */
  delayMs?: number;
  /** `status`, `html`, `error-in-200`, `stall`: run the method before answering so (the answer says nothing about it). */
  execute?: boolean;
}

export interface FaultSwitches {
  /** Replaces every rule. */
  set(rules: FaultRule | readonly FaultRule[]): void;
  add(rule: FaultRule): void;
  clear(): void;
  /** The rules still active (with `times` counting down). */
  list(): readonly FaultRule[];
}

export class FaultBoard implements FaultSwitches {
  private rules: FaultRule[] = [];

  set(rules: FaultRule | readonly FaultRule[]): void {
    this.rules = (Array.isArray(rules) ? [...rules] : [rules as FaultRule]).map((r) => ({ ...r }));
  }

  add(rule: FaultRule): void {
    this.rules.push({ ...rule });
  }

  clear(): void {
    this.rules = [];
  }

  list(): readonly FaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  /** The rule for this request, consuming one of its `times`; null when none applies. */
  take(method: string, endpoint: 'rest' | 'oauth/token' | 'upload'): FaultRule | null {
    const name = normalizeMethod(method);
    const index = this.rules.findIndex((r) => {
      const target = r.method === undefined || r.method === '*' ? '*' : normalizeMethod(r.method);
      if (endpoint !== 'rest') return target === endpoint;
      return target === '*' || target === name;
    });
    if (index < 0) return null;
    const rule = this.rules[index]!;
    if (rule.times !== undefined) {
      rule.times -= 1;
      if (rule.times <= 0) this.rules.splice(index, 1);
    }
    return { ...rule };
  }
}

export function normalizeMethod(method: string): string {
  return method.toLowerCase().replace(/\.json$/, '');
}
