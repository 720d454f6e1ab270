// crm.contact/lead/company.get/update, crm.activity.get/update and crm.duplicate.findbycomm (§1.11).
// Their errors carry an EMPTY code with the description (`{"error":"","error_description":"Not found"}`).
import { emptyCodeError } from './errors.js';
import { isObject, phpInt, phpString, upperKeys, type Params } from './params.js';
import type { MethodAnswer, MethodContext, Portal } from './portal.js';
import { digits, type EntityType, type JsonRecord } from './state.js';

const MAX_COMM_VALUES = 20;

function recordId(p: Params): number {
  const id = phpInt(upperKeys(p)['ID']);
  if (id <= 0) throw emptyCodeError('ID is not defined or invalid.');
  return id;
}

function table(portal: Portal, kind: EntityType | 'ACTIVITY'): Map<number, JsonRecord> {
  return kind === 'ACTIVITY' ? portal.state.activities : portal.entities(kind);
}

export function get(kind: EntityType | 'ACTIVITY') {
  return (portal: Portal, p: Params): MethodAnswer => {
    const record = table(portal, kind).get(recordId(p));
    if (record === undefined) throw emptyCodeError('Not found');
    return { result: structuredClone(record) };
  };
}

export function update(kind: EntityType | 'ACTIVITY', method: string) {
  return (portal: Portal, p: Params, ctx: MethodContext): MethodAnswer => {
    const id = recordId(p);
    const record = table(portal, kind).get(id);
    if (record === undefined) throw emptyCodeError('Not found');
    const fields = upperKeys(p)['FIELDS'];
    if (!isObject(fields) || Object.keys(fields).length === 0) throw emptyCodeError("The parameter 'fields' must be array.");
    for (const [key, value] of Object.entries(fields)) {
      const name = key.toUpperCase();
      if ((name === 'PHONE' || name === 'EMAIL') && Array.isArray(value)) mergeMultifield(portal, record, name, value);
      else record[name] = value;
    }
    portal.state.updates.push({ method, id, fields: structuredClone(fields), at: portal.date(ctx.nowMs) });
    return { result: true };
  };
}

/** Multifield update semantics: an item with ID changes (or with DELETE=Y removes) that value; without ID it is added. */
function mergeMultifield(portal: Portal, record: JsonRecord, name: 'PHONE' | 'EMAIL', items: Params[keyof Params][]): void {
  const list = (Array.isArray(record[name]) ? record[name] : []) as JsonRecord[];
  for (const raw of items) {
    if (!isObject(raw)) continue;
    const item = upperKeys(raw);
    const existing = item['ID'] === undefined ? undefined : list.find((m) => m['ID'] === phpString(item['ID']));
    if (existing !== undefined) {
      if (phpString(item['DELETE']) === 'Y') list.splice(list.indexOf(existing), 1);
      else if (item['VALUE'] !== undefined) existing['VALUE'] = phpString(item['VALUE']);
    } else if (item['VALUE'] !== undefined) {
      list.push({ ID: String(portal.next('multifield')), VALUE_TYPE: phpString(item['VALUE_TYPE']) || 'WORK', VALUE: phpString(item['VALUE']), TYPE_ID: name });
    }
  }
  record[name] = list;
  record[name === 'PHONE' ? 'HAS_PHONE' : 'HAS_EMAIL'] = list.length > 0 ? 'Y' : 'N';
}

export function findByComm(portal: Portal, params: Params): MethodAnswer {
  const p = upperKeys(params);
  const type = phpString(p['TYPE']).toUpperCase();
  if (type === '') throw emptyCodeError('Communication type is not defined.');
  if (type !== 'PHONE' && type !== 'EMAIL') throw emptyCodeError(`Communication type '${type}' is not supported in current context.`);
  const values = Array.isArray(p['VALUES']) ? p['VALUES'].map(phpString).filter((v) => v !== '') : [];
  if (values.length === 0) throw emptyCodeError('Communication values is not defined.');
  if (values.length > MAX_COMM_VALUES) throw emptyCodeError(`Too many communication values: at most ${MAX_COMM_VALUES} are allowed.`);
  const wantedType = phpString(p['ENTITY_TYPE']).toUpperCase();
  const types = (['LEAD', 'CONTACT', 'COMPANY'] as const).filter((t) => wantedType === '' || t === wantedType);
  const matches = (record: JsonRecord): boolean => {
    const list = Array.isArray(record[type]) ? (record[type] as JsonRecord[]) : [];
    return list.some((m) => {
      const v = phpString(m['VALUE']);
      // The search ignores a phone's extension (b24-rest-docs #72) and formatting; e-mail is case-insensitive.
      return values.some((want) => (type === 'PHONE' ? digits(want.split(/[#,;]|ext/i)[0] ?? '') === digits(v.split(/[#,;]|ext/i)[0] ?? '') : want.toLowerCase() === v.toLowerCase()));
    });
  };
  const result: Record<string, number[]> = {};
  for (const t of types) {
    const ids = [...portal.entities(t).values()].filter(matches).map((r) => Number(r['ID']));
    if (ids.length === 0) continue;
    result[t] = ids.slice(0, MAX_COMM_VALUES);
    // "If 20 or more duplicates are found for one type, the other types are not returned."
    if (ids.length >= MAX_COMM_VALUES) return { result: { [t]: result[t]! } };
  }
  // PHP's json_encode of an empty array: [] rather than {}.
  return { result: Object.keys(result).length === 0 ? [] : result };
}
