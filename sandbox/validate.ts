// Output validation: one ajv validator per schema object, compiled on first use and cached by identity
// (the hook host passes the same schema object for every call of a hook point).
import { createRequire } from 'node:module';
import type { Ajv as AjvType, ValidateFunction } from 'ajv';

// Required on the first schema: ajv costs the sandbox process's start ~150 ms, and the hook host checks
// results itself (hooks/validation.ts), so most sandbox processes never compile a schema here.
let ajv: AjvType | null = null;
function getAjv(): AjvType {
  if (ajv) return ajv;
  const require = createRequire(import.meta.url);
  const { Ajv } = require('ajv') as typeof import('ajv');
  const addFormats = (require('ajv-formats') as { default: (a: AjvType) => AjvType }).default;
  ajv = addFormats(new Ajv({ allErrors: false, strict: false, validateSchema: true }));
  return ajv;
}
const cache = new WeakMap<object, ValidateFunction | Error>();

/** Returns null when the value satisfies the schema, otherwise a one-line reason. */
export function checkOutput(schema: object, value: unknown): string | null {
  let validate = cache.get(schema);
  if (validate === undefined) {
    try { validate = getAjv().compile(schema); } catch (error) { validate = error instanceof Error ? error : new Error(String(error)); }
    cache.set(schema, validate);
  }
  if (validate instanceof Error) return `the output schema itself is invalid: ${validate.message}`;
  if (validate(value)) return null;
  const first = validate.errors?.[0];
  if (!first) return 'the result does not match the output schema';
  const where = first.instancePath === '' ? 'the result' : `result${first.instancePath.replace(/\//g, '.')}`;
  return `${where} ${first.message ?? 'is invalid'}${first.params && 'allowedValues' in first.params ? ` (${JSON.stringify(first.params.allowedValues)})` : ''}`;
}
