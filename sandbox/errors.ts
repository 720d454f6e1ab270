// The one error type every sandbox failure becomes. Codes are stable (customers and support search for
// them); the message is for humans; file/line/column point into the customer's TypeScript, never the host.

/** Every sandbox error code with what it means: the one list (types, README table and tests derive from it). */
export const HOOK_ERROR_MEANINGS = {
  HOOK_COMPILE: 'syntax error or a source that cannot be bundled',
  HOOK_IMPORT_REFUSED: "an import of anything but 'callhook' and files inside the hook's folder or pack",
  HOOK_LOAD: 'top-level code threw, timed out or ran out of memory, or the default export is missing or not a hook',
  HOOK_THROW: 'the hook threw (or its promise rejected)',
  HOOK_TIMEOUT: 'CPU budget (synchronous part) or wall-clock deadline (awaited part) exceeded; the isolate starts afresh',
  HOOK_OOM: 'the isolate hit its memory limit; it is disposed and re-created before the next call',
  HOOK_MEMORY_CEILING: "all hooks of a sandbox process together passed sandbox.total_memory_mb; the largest hook's isolate was discarded",
  HOOK_STACK_OVERFLOW: 'unbounded recursion',
  HOOK_BAD_RESULT: "the result is not JSON (cyclic, a function, undefined), too large, too deep, or fails the point's output schema",
  HOOK_HTTP_REFUSED: 'http to a host not on the allow list, a URL or method that is not allowed, or past a cap on requests or body size (nothing was sent)',
  HOOK_HTTP_FAILED: 'http request failed: network error, timeout, or a response larger than the cap',
  HOOK_COOLING_DOWN: 'the circuit breaker is open after repeated failures; the hook was not called',
  HOOK_CRASHED: "this hook's call crashed its sandbox process or could not be stopped (the hook is moved to a process of its own); other hooks' calls are re-run",
  HOOK_DISPOSED: 'the hook was unloaded while the call waited',
} as const;

export type HookErrorCode = keyof typeof HOOK_ERROR_MEANINGS;

export const HOOK_ERROR_CODES = Object.keys(HOOK_ERROR_MEANINGS) as readonly HookErrorCode[];

export interface HookErrorInit {
  code: HookErrorCode;
  message: string;
  hook: string;
  file: string;
  line?: number;
  column?: number;
  /** Customer-side frames only ("at fn (file.ts:3:7)"), already mapped to the TypeScript source. */
  frames?: string[];
}

export class HookError extends Error {
  override name = 'HookError';
  code: HookErrorCode;
  hook: string;
  /** The hook's displayName (e.g. 'need_registration.ts' or 'acme-pack@1.2.0/hooks/x.ts'). */
  file: string;
  line?: number;
  column?: number;

  constructor(init: HookErrorInit) {
    super(init.message);
    this.code = init.code;
    this.hook = init.hook;
    this.file = init.file;
    if (init.line !== undefined) this.line = init.line;
    if (init.column !== undefined) this.column = init.column;
    // The stack shows the customer's frames only: host frames and host paths must never reach users.
    const frames = init.frames ?? (init.line !== undefined ? [`    at ${this.where()}`] : []);
    this.stack = [`${this.code}: ${this.message}`, ...frames].join('\n');
  }

  /** "file:line:col" (or just the file when the position is unknown). */
  where(): string {
    if (this.line === undefined) return this.file;
    return `${this.file}:${this.line}${this.column !== undefined ? `:${this.column}` : ''}`;
  }

  /** One line for terminals and logs: "file:line:col CODE message". */
  format(): string {
    return `${this.where()} ${this.code} ${this.message}`;
  }

  toJSON(): { code: HookErrorCode; message: string; hook: string; file: string; line?: number; column?: number } {
    return { code: this.code, message: this.message, hook: this.hook, file: this.file,
      ...(this.line !== undefined ? { line: this.line } : {}), ...(this.column !== undefined ? { column: this.column } : {}) };
  }

  static fromJSON(value: { code: HookErrorCode; message: string; hook: string; file: string; line?: number; column?: number }): HookError {
    return new HookError(value);
  }
}

export function isHookError(value: unknown): value is HookError {
  return value instanceof HookError;
}
