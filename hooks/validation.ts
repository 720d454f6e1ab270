// Validation of hook inputs and outputs against the catalogue's schemas. Output validation runs on
// every hook result (a hook returning garbage is a failure of that hook, never of the call); input
// validation is for tools (`callhook try`, tests), since the connector builds inputs itself.
import { Ajv, type ValidateFunction } from 'ajv';
import { callFullSchema } from '../core/contract/schema.js';
import { getHookPoint, type HookPointName, type JsonSchema } from './catalogue.js';

const CALL_FULL_SCHEMA_ID = 'call_full.schema.json';

let ajv: Ajv | null = null;
const outputValidators = new Map<string, ValidateFunction>();
const inputValidators = new Map<string, ValidateFunction>();

function getAjv(): Ajv {
  if (ajv) return ajv;
  // validateSchema off for the contract's and the catalogue's own schemas (meta-checked once by
  // test/settings/schema-meta.test.ts, not on every start); a pack's settings_schema below is checked.
  const instance = new Ajv({ allErrors: false, strict: false, allowUnionTypes: true, validateSchema: false });
  // Registered under the id the catalogue's `$ref`s use; the meta-schema pointer is dropped so one Ajv
  // instance compiles it whatever draft it names.
  const { $schema: _drop, ...schema } = callFullSchema();
  instance.addSchema({ ...schema, $id: CALL_FULL_SCHEMA_ID });
  ajv = instance;
  return instance;
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

/** One problem of a value against a schema: where (JSON pointer into the value) and what. */
export interface SchemaProblem {
  pointer: string;
  message: string;
}

/**
 * Validates arbitrary data against an arbitrary schema (packs' settings), applying the schema's defaults
 * to `value` in place. Returns every problem (empty = valid); an invalid schema is one problem at ''.
 */
export function schemaProblems(schema: JsonSchema, value: unknown): SchemaProblem[] {
  const instance = new Ajv({ allErrors: true, strict: false, useDefaults: true, allowUnionTypes: true });
  const { $schema: _ignored, ...rest } = schema;
  let v: ValidateFunction;
  try {
    v = instance.compile(rest);
  } catch (error) {
    return [{ pointer: '', message: `the settings_schema itself is invalid: ${error instanceof Error ? error.message : String(error)}` }];
  }
  if (v(value)) return [];
  return (v.errors ?? []).map((e) => {
    const missing = e.keyword === 'required' ? (e.params as { missingProperty?: string }).missingProperty : undefined;
    return missing !== undefined
      ? { pointer: `${e.instancePath}/${missing}`, message: 'is required' }
      : { pointer: e.instancePath, message: (e.message ?? 'is invalid').replace(/must NOT/g, 'must not') };
  });
}

/** Validates arbitrary data against an arbitrary schema, applying the schema's defaults; null when valid. */
export function checkWithDefaults(schema: JsonSchema, value: unknown): string | null {
  const problems = schemaProblems(schema, value);
  return problems.length === 0 ? null : problems.slice(0, 3).map((p) => `${p.pointer === '' ? '(root)' : p.pointer} ${p.message}`).join('; ');
}
