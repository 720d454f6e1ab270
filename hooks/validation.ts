// Validation of hook inputs and outputs against the catalogue's schemas. Output validation runs on
// every hook result (a hook returning garbage is a failure of that hook, never of the call); input
// validation is for tools (`callhook try`, tests), since the connector builds inputs itself.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { getHookPoint, type HookPointName, type JsonSchema } from './catalogue.js';

const CALL_FULL_SCHEMA_ID = 'call_full.schema.json';
const callFullSchemaPath = fileURLToPath(new URL('../types/call_full.schema.json', import.meta.url));

/**
 * The call_full schema as the catalogue's `$ref`s expect it (id `call_full.schema.json`). When the
 * contract file is not there (a partial checkout), a permissive stand-in keeps the host usable and
 * `callFullSchemaAvailable` says so.
 */
/** The $defs the catalogue references; any the contract file lacks gets a permissive stand-in. */
const REFERENCED_DEFS = ['CallFull', 'CallNumber', 'Entity'];

function loadCallFullSchema(): { schema: JsonSchema; available: boolean } {
  const loose = { type: 'object' };
  let base: JsonSchema = {};
  let available = false;
  try {
    const raw = JSON.parse(readFileSync(callFullSchemaPath, 'utf8')) as JsonSchema;
    // Re-key under the id the catalogue refers to; drop the meta-schema pointer so one Ajv instance
    // (draft-07 mode, which also understands $defs) can compile it whatever draft it names.
    const { $schema: _ignored, $id: _id, ...rest } = raw;
    base = rest;
    available = true;
  } catch {
    // no contract schema in this checkout: stand-ins only
  }
  const defs = { ...((base.$defs as JsonSchema | undefined) ?? {}) };
  for (const name of REFERENCED_DEFS) if (!(name in defs)) defs[name] = loose;
  return { schema: { ...base, $id: CALL_FULL_SCHEMA_ID, $defs: defs }, available };
}

let ajv: Ajv | null = null;
let callFullAvailable = false;
const outputValidators = new Map<string, ValidateFunction>();
const inputValidators = new Map<string, ValidateFunction>();

function getAjv(): Ajv {
  if (ajv) return ajv;
  const instance = new Ajv({ allErrors: false, strict: false, allowUnionTypes: true });
  const { schema, available } = loadCallFullSchema();
  instance.addSchema(schema);
  callFullAvailable = available;
  ajv = instance;
  return instance;
}

export function callFullSchemaAvailable(): boolean {
  getAjv();
  return callFullAvailable;
}

function describeErrors(validate: ValidateFunction): string {
  return (validate.errors ?? [])
    .slice(0, 3)
    .map((e) => `${e.instancePath === '' ? '(root)' : e.instancePath} ${e.message ?? 'is invalid'}`)
    .join('; ');
}

function validator(cache: Map<string, ValidateFunction>, point: HookPointName, which: 'input' | 'output'): ValidateFunction {
  const key = point;
  let v = cache.get(key);
  if (!v) {
    v = getAjv().compile(getHookPoint(point)[which]);
    cache.set(key, v);
  }
  return v;
}

/** null when the value is a valid output of the point; otherwise a short description of what is wrong. */
export function checkOutput(point: HookPointName, value: unknown): string | null {
  const v = validator(outputValidators, point, 'output');
  return v(value) ? null : describeErrors(v);
}

/** null when the value is a valid input of the point; otherwise a short description of what is wrong. */
export function checkInput(point: HookPointName, value: unknown): string | null {
  const v = validator(inputValidators, point, 'input');
  return v(value) ? null : describeErrors(v);
}

/** Validates arbitrary data against an arbitrary schema (packs' settings), applying the schema's defaults. */
export function checkWithDefaults(schema: JsonSchema, value: unknown): string | null {
  const instance = new Ajv({ allErrors: true, strict: false, useDefaults: true, allowUnionTypes: true });
  const { $schema: _ignored, ...rest } = schema;
  const v = instance.compile(rest);
  return v(value) ? null : describeErrors(v);
}
