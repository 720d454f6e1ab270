// The PHP customizer's return envelope, `{ "state": "success", "data": … }`, accepted from a ported hook so
// its logic can move over unchanged (docs/migration.md). Unwrapped once, before the point's own output
// validation, to what a callhook hook returns at that point:
// - an object output (request parameters, fields): `data` itself; empty `data` ({}, [], null, absent)
//   cancels the request at a cancellable point, as it did in the PHP customizer;
// - need_registration (boolean): `data.result`;
// - a string output (a number, a recording path, an extension): `data.phone` / `data.path` /
//   `data.extension` / `data.result`, whichever is there;
// - post_registration (null): nothing (only `state` was ever read).
// A `state` other than "success" is the hook saying it failed: the point's default applies.
import { getHookPoint, isEmptyData, type HookPointName } from './catalogue.js';
import type { JsonValue } from './engine.js';

export type Unwrapped = { kind: 'value'; value: JsonValue } | { kind: 'bad'; message: string };

const STRING_KEYS = ['phone', 'path', 'extension', 'result'] as const;

/** A value shaped as the envelope: an object with a string `state` and nothing but `state` and `data`. */
export function isLegacyEnvelope(value: unknown): value is { state: string; data?: JsonValue } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return typeof (value as { state?: unknown }).state === 'string' && keys.every((k) => k === 'state' || k === 'data');
}

/** The value to validate at `point`: the hook's own when it is no envelope, else what the envelope carries. */
export function unwrapLegacyEnvelope(point: HookPointName, value: JsonValue | undefined): Unwrapped {
  if (!isLegacyEnvelope(value)) return { kind: 'value', value: value === undefined ? null : value };
  if (value.state !== 'success') {
    return { kind: 'bad', message: `returned the PHP envelope with state ${JSON.stringify(value.state).slice(0, 80)} (not "success"): the point's default applies` };
  }
  const spec = getHookPoint(point);
  const data = value.data ?? null;
  const type = (spec.output as { type?: unknown }).type;
  if (type === 'null') return { kind: 'value', value: null };
  if (type === 'object') {
    if (isEmptyData(data)) return { kind: 'value', value: spec.cancellable ? null : {} };
    return { kind: 'value', value: data };
  }
  const fields = data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, JsonValue>) : {};
  if (type === 'boolean') {
    const result = fields.result;
    return typeof result === 'boolean'
      ? { kind: 'value', value: result }
      : { kind: 'bad', message: 'returned the PHP envelope without a boolean data.result' };
  }
  if (type === 'string') {
    for (const key of STRING_KEYS) {
      const v = fields[key];
      if (typeof v === 'string') return { kind: 'value', value: v };
    }
    return { kind: 'bad', message: `returned the PHP envelope without a string in data (${STRING_KEYS.map((k) => `data.${k}`).join(', ')})` };
  }
  return { kind: 'value', value: data };
}
