// Request parameters as Bitrix24's PHP REST server sees them: a query string or form body in PHP's
// bracket notation (`FILTER[UF_PHONE_INNER]=201`, `USER_ID[]=1`), or a JSON body, merged into one
// nested object. Values from a query or form are always strings, values from JSON keep their JSON type;
// the methods then coerce them the way PHP does ((int), (bool), (string)), so the double accepts and
// refuses what the real portal accepts and refuses.
import type { JsonValue } from '../../crm/types.js';

export type Params = { [key: string]: JsonValue };

/** Parses `a[b][]=1&c=2` PHP-style. Objects whose keys are exactly 0..n-1 become arrays, as PHP's JSON encoder does. */
export function parsePhpQuery(query: string): Params {
  const root: Params = {};
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1));
    const path = splitKey(rawKey);
    if (path === null) continue;
    assign(root, path, value);
  }
  return listify(root) as Params;
}

function decodeComponent(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** `a[b][]` → ['a', 'b', '']; null for a key PHP would drop (empty name). */
function splitKey(key: string): string[] | null {
  const open = key.indexOf('[');
  if (open <= 0) return key === '' ? null : [key];
  const path = [key.slice(0, open)];
  const re = /\[([^\]]*)\]/g;
  re.lastIndex = open;
  let m: RegExpExecArray | null;
  let end = open;
  while ((m = re.exec(key)) !== null && m.index === end) {
    path.push(m[1] ?? '');
    end = re.lastIndex;
  }
  return path;
}

type Mutable = { [key: string]: JsonValue | Mutable };

function assign(root: Params, path: string[], value: string): void {
  let node = root as Mutable;
  for (let i = 0; i < path.length; i++) {
    let key = path[i]!;
    const last = i === path.length - 1;
    if (key === '') key = String(nextIndex(node));
    if (last) {
      node[key] = value;
      return;
    }
    const child = node[key];
    if (typeof child !== 'object' || child === null || Array.isArray(child)) node[key] = {};
    node = node[key] as Mutable;
  }
}

function nextIndex(node: Mutable): number {
  let max = -1;
  for (const k of Object.keys(node)) if (/^\d+$/.test(k)) max = Math.max(max, Number(k));
  return max + 1;
}

function listify(value: JsonValue): JsonValue {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(listify);
  const keys = Object.keys(value);
  const out: { [key: string]: JsonValue } = {};
  for (const k of keys) out[k] = listify(value[k]!);
  if (keys.length > 0 && keys.every((k, i) => k === String(i))) return keys.map((k) => out[k]!);
  return out;
}

export function isObject(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** PHP's (int) cast: leading integer of a string, 0 for anything else. */
export function phpInt(v: JsonValue | undefined): number {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const m = /^\s*([+-]?\d+)/.exec(v);
    return m ? Number(m[1]) : 0;
  }
  if (Array.isArray(v)) return v.length > 0 ? 1 : 0;
  return 0;
}

/** PHP's (bool) cast: false for false, 0, "0", "", null, an empty array. ("false" is true, as in PHP.) */
export function phpBool(v: JsonValue | undefined): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '' || v === '0') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return true;
}

/** PHP's (string) cast for scalars; '' for null/absent; 'Array' for arrays, as PHP prints them. */
export function phpString(v: JsonValue | undefined): string {
  if (v === undefined || v === null || v === false) return '';
  if (v === true) return '1';
  if (typeof v === 'number' || typeof v === 'string') return String(v);
  return 'Array';
}

/** PHP's isset(): present and not null. */
export function isset(v: JsonValue | undefined): boolean {
  return v !== undefined && v !== null;
}

/** Keys upper-cased (PHP array_change_key_case(…, CASE_UPPER)), as most non-telephony methods do. */
export function upperKeys(p: Params): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(p)) out[k.toUpperCase()] = v;
  return out;
}
