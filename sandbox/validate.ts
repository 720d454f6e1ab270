// Output validation: one ajv validator per schema object, compiled on first use and cached by identity
// (the hook host passes the same schema object for every call of a hook point).
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ allErrors: false, strict: false, validateSchema: true }));
const cache = new WeakMap<object, ValidateFunction | Error>();

/** Returns null when the value satisfies the schema, otherwise a one-line reason. */
export function checkOutput(schema: object, value: unknown): string | null {
  let validate = cache.get(schema);
  if (validate === undefined) {
    try { validate = ajv.compile(schema); } catch (error) { validate = error instanceof Error ? error : new Error(String(error)); }
    cache.set(schema, validate);
  }
  if (validate instanceof Error) return `the output schema itself is invalid: ${validate.message}`;
  if (validate(value)) return null;
  const first = validate.errors?.[0];
  if (!first) return 'the result does not match the output schema';
  const where = first.instancePath === '' ? 'the result' : `result${first.instancePath.replace(/\//g, '.')}`;
  return `${where} ${first.message ?? 'is invalid'}${first.params && 'allowedValues' in first.params ? ` (${JSON.stringify(first.params.allowedValues)})` : ''}`;
}
