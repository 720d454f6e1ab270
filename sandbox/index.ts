// Public API of the sandbox: compile customer TypeScript, load it into its own isolate, invoke it.
// See docs/sandbox.md for limits, the host API seen by hooks and every error code.
export { compileHook, displayNameFor, type CompiledHook, type HookSource } from './compile.js';
export { HookError, HOOK_ERROR_CODES, HOOK_ERROR_MEANINGS, isHookError, type HookErrorCode, type HookErrorInit } from './errors.js';
export { DEFAULT_HTTP_CAPS, type HookHttpPolicy } from './http.js';
export { escapeControl } from './text-guard.js';
export type { BreakerSettings, HookHealth } from './breaker.js';
export type { HookLogEntry, InvokeContext, InvokeOutcome, JsonValue, LoadOptions, LoadedHook, SandboxLimits, SandboxLogger } from './types.js';
export { createSandboxHost, type SandboxHost, type SandboxHostOptions } from './host.js';
export { DEFAULT_SANDBOX_SETTINGS, DEFAULT_WALL_MS_PER_CALL, breakerFrom, limitsFrom, httpPolicyFrom, type SandboxSettings } from './settings.js';
export { tryHook, type TryOptions, type TryResult } from './try.js';

import type { CompiledHook } from './compile.js';
import { loadHookInline } from './host.js';
import type { LoadOptions, LoadedHook } from './types.js';

/** Loads a compiled hook into its own isolate in this process; rejects HookError HOOK_LOAD. */
export function loadHook(compiled: CompiledHook, options: LoadOptions): Promise<LoadedHook> {
  return loadHookInline(compiled, options);
}
