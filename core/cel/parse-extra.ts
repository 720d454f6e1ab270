// CEL `extra` text → object. Asterisk ≥ 12 writes compact JSON (key order not guaranteed, so always
// parse); pre-12 data (CSV era) wrote HANGUP extra as "cause,source,dialstatus". Broken text is reported
// to the caller, never thrown: one bad row must not stop the connector.

export type ExtraObject = Record<string, unknown>;

export type ParsedExtra = { ok: true; value: ExtraObject } | { ok: false; value: ExtraObject; error: string };

const EMPTY: ExtraObject = Object.freeze({}) as ExtraObject;

export function parseExtra(eventtype: string, text: string): ParsedExtra {
  if (text === '') return { ok: true, value: EMPTY };
  const first = text.charCodeAt(0);
  if (first === 123 /* { */) {
    try {
      const value: unknown = JSON.parse(text);
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return { ok: true, value: value as ExtraObject };
      return { ok: false, value: EMPTY, error: 'extra is JSON but not an object' };
    } catch (error) {
      // cel_odbc truncates long values to the column size (extra varchar(512)): say so, it is the usual cause.
      return { ok: false, value: EMPTY, error: `extra is not valid JSON (${(error as Error).message}; truncated by the column size?)` };
    }
  }
  if (eventtype === 'HANGUP' && /^\d*,[^,]*,[A-Z]*$/.test(text)) {
    const [cause = '', source = '', dialstatus = ''] = text.split(',');
    const value: ExtraObject = { hangupsource: source, dialstatus };
    if (cause !== '') value['hangupcause'] = Number(cause);
    return { ok: true, value };
  }
  return { ok: false, value: EMPTY, error: 'extra is neither JSON nor the pre-12 HANGUP form' };
}

export function extraString(extra: ExtraObject, key: string): string {
  const v = extra[key];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

export function extraNumber(extra: ExtraObject, key: string): number | undefined {
  const v = extra[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}
