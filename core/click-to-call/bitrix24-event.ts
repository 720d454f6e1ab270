// Bitrix24 delivers events as application/x-www-form-urlencoded PHP-style arrays:
//   event=ONEXTERNALCALLSTART&data[PHONE_NUMBER]=…&data[USER_ID]=…&data[CALL_ID]=…&auth[application_token]=…
// (crm-apis.md §1.9). This turns such a body into a nested object, bounded (no deep or huge nesting).
export type FormValue = string | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

const MAX_FIELDS = 200;
const MAX_DEPTH = 4;

export function parseBracketForm(body: string): FormObject {
  const out: FormObject = {};
  const params = new URLSearchParams(body);
  let n = 0;
  for (const [rawKey, value] of params) {
    if (++n > MAX_FIELDS) break;
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
    if (m === null) continue;
    const path = [m[1]!, ...[...(m[2] ?? '').matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1]!)];
    if (path.length > MAX_DEPTH || path.some((p) => p === '' || p === '__proto__' || p === 'constructor' || p === 'prototype')) continue;
    let node: FormObject = out;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (typeof next === 'object') node = next;
      else {
        const created: FormObject = {};
        node[key] = created;
        node = created;
      }
    }
    node[path[path.length - 1]!] = value;
  }
  return out;
}

export interface ExternalCallStart {
  phoneNumber: string;
  phoneNumberInternational: string;
  userId: string;
  callId: string;
  extension: string;
  crmEntityType: string;
  crmEntityId: string;
  lineNumber: string;
}

const text = (o: FormValue | undefined): string => (typeof o === 'string' ? o : '');

export type ParsedEvent =
  | { kind: 'call_start'; applicationToken: string; call: ExternalCallStart }
  | { kind: 'other'; event: string; applicationToken: string }
  | { kind: 'bad'; message: string };

export function parseBitrix24Event(body: string): ParsedEvent {
  const form = parseBracketForm(body);
  const event = text(form.event).toUpperCase();
  const auth = typeof form.auth === 'object' ? form.auth : {};
  const applicationToken = text(auth.application_token);
  if (event === '') return { kind: 'bad', message: 'C2C_BAD_EVENT: the body has no `event` field (a Bitrix24 event is form-encoded: event=…&data[…]=…&auth[application_token]=…)' };
  if (event !== 'ONEXTERNALCALLSTART') return { kind: 'other', event, applicationToken };
  const data = typeof form.data === 'object' ? form.data : {};
  const call: ExternalCallStart = {
    phoneNumber: text(data.PHONE_NUMBER),
    phoneNumberInternational: text(data.PHONE_NUMBER_INTERNATIONAL),
    userId: text(data.USER_ID),
    callId: text(data.CALL_ID),
    extension: text(data.EXTENSION),
    crmEntityType: text(data.CRM_ENTITY_TYPE),
    crmEntityId: text(data.CRM_ENTITY_ID),
    lineNumber: text(data.LINE_NUMBER),
  };
  if (call.phoneNumber === '' && call.phoneNumberInternational === '') return { kind: 'bad', message: 'C2C_BAD_EVENT: ONEXTERNALCALLSTART without data[PHONE_NUMBER]' };
  if (!/^\d+$/.test(call.userId)) return { kind: 'bad', message: 'C2C_BAD_EVENT: ONEXTERNALCALLSTART without a numeric data[USER_ID]' };
  return { kind: 'call_start', applicationToken, call };
}
