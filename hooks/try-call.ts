// What `callhook try` needs beyond the hook host itself: the input it runs a hook on (a saved input,
// validated against the point's input schema, or the point's catalogue input built from a call), and what
// the host's decision means at that point, in words.
import { readFile } from 'node:fs/promises';
import { getHookPoint, type HookPointName, type HookStage } from './catalogue.js';
import type { JsonObject, JsonValue } from './engine.js';
import { buildPointInput } from './inputs.js';
import type { PointResult } from './runner.js';
import { checkInput } from './validation.js';

/** Bad input for `try`: the message names the file (or option) and what is wrong with it. */
export class TryInputError extends Error {}

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The stage a point runs at when none is asked for: its first. Throws when the point never runs at `stage`. */
export function stageFor(point: HookPointName, stage: string | undefined): HookStage {
  const spec = getHookPoint(point);
  const chosen = (stage ?? spec.stages[0]) as HookStage;
  if (!(spec.stages as readonly string[]).includes(chosen)) {
    throw new TryInputError(`--stage ${chosen}: '${point}' runs at ${spec.stages.join(', ')}`);
  }
  return chosen;
}

/** A saved input (`--input`), checked against the point's input schema so a bad input blames the input. */
export async function readPointInput(point: HookPointName, file: string): Promise<JsonObject> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new TryInputError(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const invalid = checkInput(point, value);
  if (invalid !== null) throw new TryInputError(`${file}: not a valid ${point} input: ${invalid} (see docs/hooks.md#${point}, or use --call with a call file)`);
  return value as JsonObject;
}

export interface CallChoice {
  linkedid: string | null;
  callFull: JsonObject;
  /** Where the call_full came from: a stage snapshot (as the connector saw it at that stage) or the finished call. */
  snapshot: 'stage' | 'finished' | 'file';
}

/**
 * The call a hook runs on from `--call`: a call_full JSON file, an object holding one, or JSON Lines as
 * `callhook replay --out` writes them (`{"linkedid", "call_full"}` per finished call; with --stages also
 * `{"stage", "linkedid", "call_full"}` snapshots). In JSON Lines the call is `linkedid` (default: the first);
 * the snapshot taken at `stage` is preferred over the finished call, since that is what the hook sees live.
 */
export async function readCall(file: string, options: { linkedid?: string; stage?: HookStage } = {}): Promise<CallChoice> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new TryInputError(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const whole = (() => {
    try {
      return { ok: true as const, value: JSON.parse(text) as unknown };
    } catch {
      return { ok: false as const };
    }
  })();
  if (whole.ok && !(isObject(whole.value) && 'linkedid' in whole.value)) {
    if (options.linkedid !== undefined) throw new TryInputError(`--linkedid: ${file} holds one call, not JSON Lines of calls`);
    const callFull = isObject(whole.value) && 'call_full' in whole.value ? whole.value.call_full : whole.value;
    if (!isObject(callFull)) throw new TryInputError(`${file}: not a call_full object`);
    return { linkedid: null, callFull, snapshot: 'file' };
  }
  const lines = text.split('\n');
  const calls: Array<{ linkedid: string; stage: string | null; callFull: JsonObject }> = [];
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (err) {
      throw new TryInputError(`${file}:${i + 1}: not JSON (${err instanceof Error ? err.message : String(err)}); expected one {"linkedid", "call_full"} object per line`);
    }
    if (!isObject(row) || typeof row.linkedid !== 'string' || !isObject(row.call_full)) {
      throw new TryInputError(`${file}:${i + 1}: expected {"linkedid": "...", "call_full": {...}} (what callhook replay --out writes)`);
    }
    calls.push({ linkedid: row.linkedid, stage: typeof row.stage === 'string' ? row.stage : null, callFull: row.call_full });
  }
  if (calls.length === 0) throw new TryInputError(`${file}: no calls in the file`);
  const linkedid = options.linkedid ?? calls[0]?.linkedid ?? '';
  const ofCall = calls.filter((c) => c.linkedid === linkedid);
  if (ofCall.length === 0) {
    const ids = [...new Set(calls.map((c) => c.linkedid))];
    throw new TryInputError(`--linkedid ${linkedid}: not in ${file} (it has ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? `, … ${ids.length} calls` : ''})`);
  }
  const atStage = options.stage !== undefined ? ofCall.find((c) => c.stage === options.stage) : undefined;
  const finished = ofCall.find((c) => c.stage === null);
  const chosen = atStage ?? finished ?? ofCall[ofCall.length - 1];
  if (!chosen) throw new TryInputError(`${file}: no call ${linkedid}`);
  return { linkedid, callFull: chosen.callFull, snapshot: atStage ? 'stage' : 'finished' };
}

/** The point's catalogue input for a call at a stage, as the connector builds it; a call that yields no valid input is the call's fault. */
export function inputFromCall(point: HookPointName, call: CallChoice, stage: HookStage, recordingsRoot: string, file: string): JsonObject {
  const input = buildPointInput(point, call.callFull, { stage, recordingsRoot });
  const invalid = checkInput(point, input);
  if (invalid !== null) throw new TryInputError(`${file}: not a valid call_full for ${point}: ${invalid}`);
  return input;
}

function show(value: JsonValue | undefined): string {
  const text = JSON.stringify(value) ?? 'nothing';
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** What the decision means at this point: one line for the author, from the catalogue's contract. */
export function describeDecision(result: PointResult): { ok: boolean; text: string } {
  const trace = result.trace;
  const spec = getHookPoint(trace.point);
  const where = `${trace.point} at ${trace.stage ?? spec.stages[0]}`;
  const call = trace.hooks[0];
  if (!call) return { ok: false, text: `${where}: the hook did not run (${trace.defaultApplied?.detail ?? 'not loaded'})` };
  if (call.outcome === 'failed' || call.outcome === 'skipped') {
    return { ok: false, text: `${where}: ${call.outcome === 'failed' ? `FAILED with ${call.error?.code ?? 'an error'}` : 'skipped (cooling down)'}; the connector applies the point's default: ${spec.defaultDoc}` };
  }
  if (call.outcome === 'cancelled') return { ok: true, text: `${where}: cancelled: the CRM request this point sits in front of is not sent (an empty result cancels here)` };
  switch (spec.kind) {
    case 'parallel':
      return { ok: true, text: `${where}: ran; results are ignored at this point` };
    case 'all':
      return call.output === false
        ? { ok: true, text: `${where}: false: NO, this hook decides; the call is not registered (the stage stops here and the CRM is not told)` }
        : { ok: true, text: `${where}: true: yes from this hook (the call is registered when every ${trace.point} hook says yes)` };
    case 'waterfall': {
      const what = trace.point === 'process_record_file_path' ? 'the recording path' : (spec.thread ?? []).length > 0 ? (spec.thread ?? []).join('.') : 'the request';
      return { ok: true, text: `${where}: accepted: ${what} becomes ${show(result.value)} for the hooks after this one and the CRM` };
    }
  }
}
