// Messages between the supervisor (connector process) and the sandbox child process (IPC, ordered).
import type { CompiledHook } from './compile.js';
import type { HookErrorInit } from './errors.js';
import type { HookHttpPolicy } from './http.js';
import type { HookLogEntry, JsonValue, SandboxLimits } from './types.js';

export type ErrorJson = Omit<HookErrorInit, 'frames'> & { stack?: string };

export type ToChild =
  | { op: 'load'; rid: number; hid: number; compiled: CompiledHook; limits: SandboxLimits; hookSettings: JsonValue; http: HookHttpPolicy }
  | { op: 'schema'; schemaId: number; schema: object }
  | { op: 'invoke'; rid: number; hid: number; input: JsonValue; hook: string; callId?: string; schemaId?: number }
  | { op: 'dispose'; hid: number };

export type FromChild =
  | { rid: number; loaded: { declaredHook: string | null } }
  | { rid: number; loadError: ErrorJson }
  | { rid: number; outcome: { ok: true; value: JsonValue; durationMs: number; logs: HookLogEntry[] } | { ok: false; error: ErrorJson; durationMs: number; logs: HookLogEntry[] } };
