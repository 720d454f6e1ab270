// The `sandbox` settings section (types/settings/sandbox.schema.json) as a typed object, and the
// conversions to the plain option objects the runtime takes. The settings loader (core/settings) applies
// the schema's defaults; DEFAULT_SANDBOX_SETTINGS mirrors them for callers without a settings file.
//
// Time: the wall-clock deadline of a call is not a sandbox setting. It belongs to the hook point the call
// runs at (the catalogue's budget, overridable in hooks.budgets), so the caller passes it in; the
// section's cpu_ms_per_call only caps the synchronous part of any call.
import type { BreakerSettings } from './breaker.js';
import type { HookHttpPolicy } from './http.js';
import type { SandboxLimits } from './types.js';
import type { SandboxSettings } from '../types/settings.js';

/** The `sandbox` section after defaults: generated from types/settings/sandbox.schema.json (types/settings.d.ts). */
export type { SandboxSettings };

export const DEFAULT_SANDBOX_SETTINGS: SandboxSettings = {
  isolation: 'process',
  memory_mb: 32,
  total_memory_mb: 512,
  cpu_ms_per_call: 50,
  http: { timeout_ms: 1500, max_response_bytes: 1024 * 1024, max_request_bytes: 256 * 1024, max_concurrent_requests: 4, max_requests_per_call: 20 },
  circuit_breaker: { failure_threshold: 5, cool_down_ms: 30_000 },
};

/** Wall-clock deadline of a call that runs at no known hook point (e.g. `callhook try --input` of an unknown name). */
export const DEFAULT_WALL_MS_PER_CALL = 2000;

/**
 * The limits of one hook: memory from the section; the wall deadline is the caller's (the hook point's
 * budget); CPU is the section's ceiling, never more than the wall deadline.
 */
export function limitsFrom(s: SandboxSettings, wallMsPerCall: number = DEFAULT_WALL_MS_PER_CALL): SandboxLimits {
  return { memoryMb: s.memory_mb, cpuMsPerCall: Math.min(s.cpu_ms_per_call, wallMsPerCall), wallMsPerCall, totalMemoryMb: s.total_memory_mb };
}

/** The http policy of one hook: the section's defaults plus the hosts allow-listed for that hook or pack. */
export function httpPolicyFrom(s: SandboxSettings, allowHosts: string[]): HookHttpPolicy {
  return {
    allowHosts, timeoutMs: s.http.timeout_ms, maxResponseBytes: s.http.max_response_bytes, maxRequestBytes: s.http.max_request_bytes,
    maxConcurrentRequests: s.http.max_concurrent_requests, maxRequestsPerCall: s.http.max_requests_per_call,
  };
}

export function breakerFrom(s: SandboxSettings): BreakerSettings {
  return { failureThreshold: s.circuit_breaker.failure_threshold, coolDownMs: s.circuit_breaker.cool_down_ms };
}
