// Runs one hook file once in the sandbox: compile, load, invoke, with timings. The engine of
// `callhook try` (the hook host extends that command with call_full inputs; it calls this function).
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { compileHook } from './compile.js';
import { HookError } from './errors.js';
import { createSandboxHost } from './host.js';
import { DEFAULT_SANDBOX_SETTINGS, breakerFrom, httpPolicyFrom, limitsFrom, type SandboxSettings } from './settings.js';
import type { HookLogEntry, JsonValue } from './types.js';

export interface TryOptions {
  file: string;
  input: JsonValue;
  /** Folder or pack root (default: the file's folder). */
  root?: string;
  displayName?: string;
  /** Lifecycle hook name (default: the name given to defineHook(), else the file name). */
  hook?: string;
  callId?: string;
  outputSchema?: object;
  settings?: SandboxSettings;
  /** Wall-clock deadline of the call in ms: the hook point's budget when the caller knows it (default 2000). */
  wallMs?: number;
  hookSettings?: JsonValue;
  allowHosts?: string[];
  /** Default 'inline': a one-shot run in the support engineer's own process. */
  isolation?: 'process' | 'inline';
  logger: Logger;
}

export interface TryResult {
  hook: string;
  ok: boolean;
  value?: JsonValue;
  error?: HookError;
  logs: HookLogEntry[];
  timings: { compileMs: number; loadMs: number; invokeMs: number };
}

export async function tryHook(opts: TryOptions): Promise<TryResult> {
  const file = path.resolve(opts.file);
  const root = path.resolve(opts.root ?? path.dirname(file));
  const displayName = opts.displayName ?? path.relative(root, file).split(path.sep).join('/');
  const fallbackName = path.basename(file).replace(/\.[cm]?[tj]s$/, '');
  const settings = opts.settings ?? DEFAULT_SANDBOX_SETTINGS;
  const timings = { compileMs: 0, loadMs: 0, invokeMs: 0 };
  const failed = (error: unknown, hook: string): TryResult => ({
    hook, ok: false, logs: [], timings,
    error: error instanceof HookError ? Object.assign(error, { hook: error.hook || hook })
      : new HookError({ code: 'HOOK_LOAD', message: error instanceof Error ? error.message : String(error), hook, file: displayName }),
  });
  let t = performance.now();
  let compiled;
  try { compiled = await compileHook({ file, root, displayName }); } catch (error) { return failed(error, opts.hook ?? fallbackName); }
  timings.compileMs = performance.now() - t;
  const host = createSandboxHost({ isolation: opts.isolation ?? 'inline', logger: opts.logger });
  try {
    t = performance.now();
    let loaded;
    try {
      loaded = await host.load(compiled, {
        limits: limitsFrom(settings, opts.wallMs), hookSettings: opts.hookSettings ?? {}, http: httpPolicyFrom(settings, opts.allowHosts ?? []),
        logger: opts.logger, breaker: breakerFrom(settings),
      });
    } catch (error) { return failed(error, opts.hook ?? fallbackName); }
    timings.loadMs = performance.now() - t;
    const hook = opts.hook ?? loaded.declaredHook ?? fallbackName;
    const outcome = await loaded.invoke(opts.input, {
      hook, ...(opts.callId !== undefined ? { callId: opts.callId } : {}), ...(opts.outputSchema ? { outputSchema: opts.outputSchema } : {}),
    });
    timings.invokeMs = outcome.durationMs;
    return outcome.ok
      ? { hook, ok: true, value: outcome.value, logs: outcome.logs, timings }
      : { hook, ok: false, error: outcome.error, logs: outcome.logs, timings };
  } finally {
    await host.close();
  }
}
