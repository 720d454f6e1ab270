// `callhook try <hook.ts> --call <call_full.json> [--stage S]`: builds the catalogue input of the hook's
// point from a call (as the connector would at that stage) and judges the result the way the host does
// (output schema, cancel, recordings-root confinement), so a hook author sees the decision, not just a value.
import { readFile } from 'node:fs/promises';
import { getHookPoint, isEmptyData, isHookPointName, type HookPointName, type HookStage } from './catalogue.js';
import { confineToRoot } from './confine.js';
import type { JsonObject, JsonValue } from './engine.js';
import { pointFromFileName } from './host.js';
import { buildPointInput } from './inputs.js';
import { declaredPointInSource } from './typecheck.js';
import { checkInput, checkOutput } from './validation.js';

export interface CallTryPlan {
  point: HookPointName;
  stage: HookStage;
  input: JsonObject;
}

/** Reads the hook and the call file and builds the input; throws an Error whose message names the file and field. */
export async function planFromCall(hookFile: string, callFile: string, opts: { stage?: string; hook?: string; recordingsRoot?: string } = {}): Promise<CallTryPlan> {
  const source = await readFile(hookFile, 'utf8');
  const name = opts.hook ?? declaredPointInSource(source) ?? pointFromFileName(hookFile);
  if (!isHookPointName(name)) throw new Error(`${hookFile}: '${name}' is not a hook point (name the file after one, use defineHook, or pass --hook)`);
  const spec = getHookPoint(name);
  const stage = (opts.stage ?? spec.stages[0]) as HookStage;
  if (!(spec.stages as readonly string[]).includes(stage)) {
    throw new Error(`--stage ${stage}: '${name}' runs at ${spec.stages.join(', ')}`);
  }
  let call: unknown;
  try {
    call = JSON.parse(await readFile(callFile, 'utf8'));
  } catch (err) {
    throw new Error(`${callFile}: ${(err as Error).message}`);
  }
  // Accept a bare call_full or an object holding one (e.g. a saved hook input).
  const callFull = call !== null && typeof call === 'object' && 'call_full' in call ? (call as { call_full: unknown }).call_full : call;
  if (callFull === null || typeof callFull !== 'object' || Array.isArray(callFull)) throw new Error(`${callFile}: not a call_full object`);
  const input = buildPointInput(name, callFull as JsonObject, { stage, ...(opts.recordingsRoot ? { recordingsRoot: opts.recordingsRoot } : {}) });
  const invalid = checkInput(name, input);
  if (invalid !== null) throw new Error(`${callFile}: not a valid call_full for ${name}: ${invalid}`);
  return { point: name, stage, input };
}

export type Verdict = { kind: 'ok' | 'cancelled' | 'invalid'; message: string };

/** What the host would make of this result at the plan's point. */
export function judge(plan: CallTryPlan, value: JsonValue, recordingsRoot = '/var/spool/asterisk/monitor'): Verdict {
  const spec = getHookPoint(plan.point);
  if (spec.kind === 'parallel') return { kind: 'ok', message: `${plan.point}: result ignored (parallel point)` };
  if (spec.cancellable && isEmptyData(value)) return { kind: 'cancelled', message: `${plan.point}: request cancelled by customization` };
  const invalid = checkOutput(plan.point, value);
  if (invalid !== null) return { kind: 'invalid', message: `${plan.point}: HOOK_BAD_RESULT ${invalid} (the host would keep the default)` };
  if (plan.point === 'process_record_file_path' && typeof value === 'string') {
    const c = confineToRoot(recordingsRoot, value);
    if (!c.ok) return { kind: 'invalid', message: `${plan.point}: HOOK_PATH_REFUSED ${c.reason}` };
    return { kind: 'ok', message: `${plan.point} at ${plan.stage}: ${c.path}` };
  }
  return { kind: 'ok', message: `${plan.point} at ${plan.stage}: accepted` };
}
