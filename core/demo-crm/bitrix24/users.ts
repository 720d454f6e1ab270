// user.get (§1.10): FILTER with the documented prefixes (=, !, !=, %, >, >=, <, <=, @), sort/order,
// `select`, and `start` paging with the fixed page size of 50; `total` and `next` beside `result`.
import type { JsonValue } from '../../crm/types.js';
import { isObject, phpInt, phpString, upperKeys, type Params } from './params.js';
import type { MethodAnswer, Portal } from './portal.js';
import type { JsonRecord, SeedUser } from './state.js';

export const PAGE_SIZE = 50;
const FIELDS = ['ID', 'ACTIVE', 'NAME', 'LAST_NAME', 'EMAIL', 'WORK_POSITION', 'UF_PHONE_INNER', 'PERSONAL_MOBILE', 'WORK_PHONE', 'PERSONAL_PHONE', 'USER_TYPE'] as const;

/** A user as user.get prints it: ids as strings, empty strings for unset fields, UF_* null when unset. */
export function userRecord(u: SeedUser): JsonRecord {
  return {
    ID: String(u.ID), ACTIVE: u.ACTIVE !== false, NAME: u.NAME ?? '', LAST_NAME: u.LAST_NAME ?? '', EMAIL: u.EMAIL ?? '',
    WORK_POSITION: u.WORK_POSITION ?? '', UF_PHONE_INNER: u.UF_PHONE_INNER ?? null, PERSONAL_MOBILE: u.PERSONAL_MOBILE ?? '',
    WORK_PHONE: u.WORK_PHONE ?? '', PERSONAL_PHONE: u.PERSONAL_PHONE ?? '', USER_TYPE: u.USER_TYPE ?? 'employee',
  };
}

function asComparable(field: string, v: JsonValue): string {
  if (field === 'ACTIVE') return v === true || v === 'Y' || v === 1 || v === '1' || v === 'true' ? 'Y' : 'N';
  return phpString(v);
}

function matchesOne(record: JsonRecord, key: string, want: JsonValue): boolean {
  const m = /^(!=%|!%=|!=|=%|%=|!%|>=|<=|!@|[=!%<>@])?(.+)$/.exec(key);
  const op = m?.[1] ?? '';
  const field = (m?.[2] ?? key).toUpperCase();
  const have = asComparable(field, record[field] ?? null);
  const wants = (Array.isArray(want) ? want : [want]).map((w) => asComparable(field, w));
  const num = (s: string) => (/^-?\d+(\.\d+)?$/.test(s) ? Number(s) : NaN);
  switch (op) {
    case '': case '=': case '@': return wants.includes(have);
    case '!': case '!=': case '!@': return !wants.includes(have);
    case '%': case '=%': case '%=': return wants.some((w) => have.toLowerCase().includes(w.toLowerCase().replace(/%/g, '')));
    case '!%': case '!=%': case '!%=': return !wants.some((w) => have.toLowerCase().includes(w.toLowerCase().replace(/%/g, '')));
    case '>': return num(have) > num(wants[0] ?? '');
    case '>=': return num(have) >= num(wants[0] ?? '');
    case '<': return num(have) < num(wants[0] ?? '');
    case '<=': return num(have) <= num(wants[0] ?? '');
    default: return false;
  }
}

export function userGet(portal: Portal, params: Params): MethodAnswer {
  const p = upperKeys(params);
  const filter = isObject(p['FILTER']) ? p['FILTER'] : {};
  // Bots, e-mail users and the like are never returned (§1.10).
  let users = [...portal.state.users.values()].filter((u) => u.USER_TYPE !== 'email').map(userRecord);
  users = users.filter((r) => Object.entries(filter).every(([k, v]) => matchesOne(r, k, v)));
  const sortField = phpString(p['SORT']).toUpperCase() || 'ID';
  const desc = phpString(p['ORDER']).toUpperCase() === 'DESC';
  users.sort((a, b) => {
    const [x, y] = [phpString(a[sortField] ?? ''), phpString(b[sortField] ?? '')];
    const c = /^\d+$/.test(x) && /^\d+$/.test(y) ? Number(x) - Number(y) : x.localeCompare(y);
    return desc ? -c : c;
  });
  const select = Array.isArray(p['SELECT']) ? p['SELECT'].map((s) => phpString(s).toUpperCase()) : [];
  const keep = (field: string) => select.length === 0 || field === 'ID' || select.includes('*') || select.includes(field) || (select.includes('UF_*') && field.startsWith('UF_'));
  const start = Math.max(0, phpInt(p['START']));
  const page = users.slice(start, start + PAGE_SIZE).map((r) => Object.fromEntries(FIELDS.filter(keep).map((f) => [f, r[f] ?? null])));
  const answer: MethodAnswer = { result: page, total: users.length };
  if (start + PAGE_SIZE < users.length) answer.next = start + PAGE_SIZE;
  return answer;
}
