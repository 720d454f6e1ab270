// Public API of the hook host (what the connector, the admin API and the CLI use).
//
//   const host = await createHookHost(hostOptionsFromSettings(settings.hooks, settings.sandbox, { logger }));
//   const { value, cancelled, trace } = await host.runPoint('need_registration', buildPointInput('need_registration', callFull, { stage }), { stage, callId });
//   // Consecutive points with no CRM request between them, in one go (one round trip to the sandbox process):
//   const [registered, client, employee] = await host.runPoints([
//     { point: 'need_registration', input: nrInput, stopIfFalse: true },
//     { point: 'process_client_phone', input: clientInput },
//     { point: 'process_user_phone', input: userInput },
//   ], { stage, callId });   // client and employee are null when need_registration said no
//   host.status();   // per hook: source, hash, state, last error with file:line:col, calls, failures, p50/p99
//   await host.close();
export {
  CALL_STAGES,
  EXTRA_STAGES,
  HOOK_POINTS,
  HOOK_POINT_NAMES,
  getHookPoint,
  isHookPointName,
  isEmptyData,
  type CallStageName,
  type CompositionKind,
  type HookPointName,
  type HookPointSpec,
  type HookStage,
} from './catalogue.js';
export type { HookEngine, JsonObject, JsonValue } from './engine.js';
export { createHookHost, type HookErrorReport, type HookHost, type HookHostOptions, type HookState, type HookStatus, type PackRef, type PointStep } from './host.js';
export { buildPointInput, partiesOf } from './inputs.js';
export type { DefaultReason, HookCallTrace, HookRunError, PointResult, PointTrace, RunContext } from './runner.js';
export { hostOptionsFromSettings, type HooksSettings } from './settings.js';
export { runStageFlow, type CrmKind, type StageRun } from './flow.js';
export { replayTrace, decisionChanged, type WhatIf } from './replay.js';
