// Kommo's contact search (`GET /api/v4/contacts?query=`) matches any field, by substring: a query for the
// last 10 digits finds a contact whose note or address holds them too. A hit counts only when one of its
// PHONE field values has the same last 10 digits (crm-apis.md §2.4: query by the last 10 digits, verify).
import type { JsonValue } from '../types.js';

/** The last `n` digits of a number, separators and the country prefix ignored ('' when it has none). */
export function lastDigits(number: string, n = 10): string {
  const digits = number.replace(/\D+/g, '');
  return digits.slice(-n);
}

const isObject = (v: unknown): v is { [key: string]: JsonValue } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The values of a Kommo contact's PHONE field. */
export function contactPhones(contact: JsonValue): string[] {
  if (!isObject(contact) || !Array.isArray(contact.custom_fields_values)) return [];
  const out: string[] = [];
  for (const f of contact.custom_fields_values) {
    if (!isObject(f) || f.field_code !== 'PHONE' || !Array.isArray(f.values)) continue;
    for (const v of f.values) if (isObject(v) && (typeof v.value === 'string' || typeof v.value === 'number')) out.push(String(v.value));
  }
  return out;
}

/** Whether `phone` is the same number as `wanted` (last 10 digits; both at least 5 digits long). */
export function phoneMatches(phone: string, wanted: string): boolean {
  const a = lastDigits(phone);
  const b = lastDigits(wanted);
  return a.length >= 5 && a === b;
}
