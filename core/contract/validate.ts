// Validation of a call_full document (or any named sub-object) against types/call_full.schema.json,
// with errors a person can act on: where (JSON pointer), what was expected, what was found.
// Unknown fields are errors everywhere except in `extra` and `raw`, whose schemas allow any keys.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { escapePointer } from '../json-schema.js';
import { callFullSchema, type ContractDef, type JsonSchema } from './schema.js';

export interface ContractError {
  /** JSON pointer into the validated document ('' = the document itself). */
  pointer: string;
  expected: string;
  found: string;
  /** One line: `<pointer>: expected <expected>, found <found>`. */
  message: string;
}

const SCHEMA_ID = 'callhook:call_full';
let ajv: Ajv | null = null;
const validators = new Map<ContractDef, ValidateFunction>();

function validatorFor(def: ContractDef): ValidateFunction {
  let v = validators.get(def);
  if (v) return v;
  if (!ajv) {
    // verbose: errors carry the failing schema, so `expected` can name the sub-object (Entity, DateTime).
    ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
    const { $schema: _drop, ...schema } = callFullSchema();
    ajv.addSchema({ ...schema, $id: SCHEMA_ID });
  }
  v = ajv.getSchema(`${SCHEMA_ID}#/$defs/${def}`);
  if (!v) throw new Error(`call_full schema has no $defs/${def}`);
  validators.set(def, v);
  return v;
}

function valueAt(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let node: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** What a value is, briefly: `"abc" (string)`, `42`, `null`, `an object`, `an array of 3`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${JSON.stringify(value.slice(0, 60))}… (${value.length} characters)` : JSON.stringify(value);
    return `${shown} (string)`;
  }
  return `${String(value)} (${typeof value})`;
}

function schemaTitle(e: ErrorObject): string {
  const parent = e.parentSchema as JsonSchema | undefined;
  return typeof parent?.title === 'string' ? parent.title : '';
}

function expectedFor(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  const title = schemaTitle(e);
  switch (e.keyword) {
    case 'type':
      return title !== '' && p.type === 'object' ? `${title} object` : String(p.type);
    case 'enum':
      return `one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern':
      return title === 'DateTime' ? 'a date-time "YYYY-MM-DD HH:MM:SS" (or "0001-01-01 00:00:00")' : `text matching ${String(p.pattern)}`;
    case 'minimum':
    case 'maximum':
      return `a number ${e.keyword === 'minimum' ? '≥' : '≤'} ${String(p.limit)}`;
    default:
      return e.message ?? e.keyword;
  }
}

function fromAjv(doc: unknown, errors: readonly ErrorObject[]): ContractError[] {
  const out: ContractError[] = [];
  // A nullable field (`anyOf: [X, null]`) fails both branches; report the object branch's errors and
  // say "or null" instead of adding a separate "must be null" and "must match anyOf".
  const nullable = new Set(errors.filter((e) => e.keyword === 'type' && (e.params as { type?: string }).type === 'null').map((e) => e.instancePath));
  for (const e of errors) {
    if (e.keyword === 'anyOf') continue;
    if (e.keyword === 'type' && (e.params as { type?: string }).type === 'null') continue;
    let pointer = e.instancePath;
    let expected = expectedFor(e);
    let found: string;
    if (e.keyword === 'required') {
      const field = String((e.params as { missingProperty: string }).missingProperty);
      pointer = `${pointer}/${escapePointer(field)}`;
      expected = 'this field (it is always present; use its empty value or null where allowed)';
      found = 'nothing (missing)';
    } else if (e.keyword === 'additionalProperties') {
      const field = String((e.params as { additionalProperty: string }).additionalProperty);
      pointer = `${pointer}/${escapePointer(field)}`;
      expected = 'no such field (unknown fields are allowed only inside extra and raw)';
      found = describeValue(valueAt(doc, pointer));
    } else {
      if (e.keyword === 'type' && nullable.has(pointer)) expected += ' or null';
      found = describeValue(valueAt(doc, pointer));
    }
    out.push({ pointer, expected, found, message: `${pointer === '' ? '(document)' : pointer}: expected ${expected}, found ${found}` });
  }
  return out;
}

/** Rules the schema cannot say: conversation keys are their channel's uniqueid; the active one exists. */
function crossFieldErrors(doc: unknown): ContractError[] {
  const out: ContractError[] = [];
  if (typeof doc !== 'object' || doc === null) return out;
  const call = doc as { conversations?: unknown; active_conversation_id?: unknown };
  const conversations = typeof call.conversations === 'object' && call.conversations !== null ? (call.conversations as Record<string, unknown>) : null;
  if (conversations) {
    for (const [key, conv] of Object.entries(conversations)) {
      const id = (conv as { channel?: { id?: unknown } } | null)?.channel?.id;
      if (typeof id === 'string' && id !== key) {
        const pointer = `/conversations/${escapePointer(key)}/channel/id`;
        out.push({ pointer, expected: JSON.stringify(key), found: describeValue(id), message: `${pointer}: expected ${JSON.stringify(key)} (the conversation's key), found ${describeValue(id)}` });
      }
    }
    const active = call.active_conversation_id;
    if (typeof active === 'string' && active !== '' && !(active in conversations)) {
      const expected = 'an empty string or a key of /conversations';
      out.push({ pointer: '/active_conversation_id', expected, found: describeValue(active), message: `/active_conversation_id: expected ${expected}, found ${describeValue(active)}` });
    }
  }
  return out;
}

/** Errors of `value` as the named sub-object of call_full; an empty list means valid. */
export function validateAgainst(def: ContractDef, value: unknown): ContractError[] {
  const validate = validatorFor(def);
  const errors = validate(value) ? [] : fromAjv(value, validate.errors ?? []);
  return def === 'CallFull' ? [...errors, ...crossFieldErrors(value)] : errors;
}

/** Errors of a whole call_full document; an empty list means valid. */
export function validateCallFull(value: unknown): ContractError[] {
  return validateAgainst('CallFull', value);
}
