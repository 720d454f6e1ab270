import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { createNumberModel, DEFAULT_NUMBER_SETTINGS, NumberSettingsError, type NumberSettings } from '../../core/numbers/index.js';
import { captureLogger } from './kit.js';

const SCHEMA_FILE = path.join(import.meta.dirname, '..', '..', 'types', 'settings', 'numbers.schema.json');

interface SchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  additionalProperties?: unknown;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  [key: string]: unknown;
}

const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as SchemaNode;

function create(overrides: Record<string, unknown>) {
  return createNumberModel({ ...DEFAULT_NUMBER_SETTINGS, ...overrides } as NumberSettings, { logger: captureLogger().logger });
}

function throwsKey(overrides: Record<string, unknown>, message: RegExp) {
  assert.throws(() => create(overrides), (error: unknown) => {
    assert.ok(error instanceof NumberSettingsError, String(error));
    assert.ok(error instanceof Error);
    assert.match(error.message, message);
    return true;
  });
}

test('a regex that does not compile names numbers.auto_replace[i].pattern', () => {
  assert.throws(
    () => create({ auto_replace: [{ pattern: '^1$', replacement: '2' }, { pattern: '(', replacement: '' }] }),
    { name: 'NumberSettingsError', message: 'numbers.auto_replace[1].pattern: invalid regular expression "(": Unterminated group' },
  );
  throwsKey({ auto_replace: [{ pattern: '[', replacement: '' }] }, /^numbers\.auto_replace\[0\]\.pattern: invalid regular expression "\[": /);
  throwsKey({ auto_replace: [{ pattern: '', replacement: '' }] }, /^numbers\.auto_replace\[0\]\.pattern: must not be empty/);
});

test('malformed auto_replace rules name the key', () => {
  throwsKey({ auto_replace: [{ pattern: '^1$' }] }, /^numbers\.auto_replace\[0\]\.replacement: must be a string/);
  throwsKey({ auto_replace: [{ pattern: 1, replacement: '' }] }, /^numbers\.auto_replace\[0\]\.pattern: must be a string/);
  throwsKey({ auto_replace: [{ pattern: '1', replacement: '', flags: 'g' }] }, /^numbers\.auto_replace\[0\]\.flags: unknown setting/);
  throwsKey({ auto_replace: ['^1$'] }, /^numbers\.auto_replace\[0\]: must be an object/);
  throwsKey({ auto_replace: {} }, /^numbers\.auto_replace: must be an array/);
});

test('bad prefixes name the key', () => {
  throwsKey({ prefixes: ['+7', 8] }, /^numbers\.prefixes\[1\]: must be a string, got number/);
  throwsKey({ prefixes: ['+7 '] }, /^numbers\.prefixes\[0\]: must be digits/);
  throwsKey({ prefixes: [''] }, /^numbers\.prefixes\[0\]: must be digits/);
  throwsKey({ prefixes: ['8', '+7', '8'] }, /^numbers\.prefixes\[2\]: duplicate of numbers\.prefixes\[0\]/);
  throwsKey({ prefixes: '+7' }, /^numbers\.prefixes: must be an array/);
});

test('internal_max_length must be an integer from 1 to 20', () => {
  for (const bad of [0, -1, 1.5, 21, '4', null, Number.NaN]) {
    throwsKey({ internal_max_length: bad }, /^numbers\.internal_max_length: must be an integer from 1 to 20/);
  }
  assert.equal(create({ internal_max_length: 1 }).isInternal('7'), true);
  assert.equal(create({ internal_max_length: 20 }).isInternal('9'.repeat(20)), true);
});

test('bad fmc_numbers, fmc_patterns_file and unknown keys name the key', () => {
  throwsKey({ fmc_numbers: ['+79001234567', 'mobile'] }, /^numbers\.fmc_numbers\[1\]: not a phone number/);
  throwsKey({ fmc_numbers: [79001234567] }, /^numbers\.fmc_numbers\[0\]: must be a string/);
  throwsKey({ fmc_patterns_file: null }, /^numbers\.fmc_patterns_file: must be a string/);
  throwsKey({ prefix: ['+7'] }, /^numbers\.prefix: unknown setting/);
  assert.throws(() => createNumberModel(null as unknown as NumberSettings), /^NumberSettingsError: numbers: must be an object/);
});

test('schema defaults equal DEFAULT_NUMBER_SETTINGS', () => {
  const defaults = Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, v]) => [k, v.default]));
  assert.deepEqual(defaults, { ...DEFAULT_NUMBER_SETTINGS });
  assert.deepEqual(Object.keys(schema.properties ?? {}).sort(), Object.keys(DEFAULT_NUMBER_SETTINGS).sort());
});

test('schema house style: $id, title, default {}, closed objects, a description on every key, regex format', () => {
  assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
  assert.equal(schema.$id, 'callhook/settings/numbers');
  assert.equal(schema.title, 'numbers');
  assert.deepEqual(schema.default, {});
  const walk = (node: SchemaNode, where: string): void => {
    if (node.type === 'object') assert.equal(node.additionalProperties, false, `${where}: additionalProperties`);
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      assert.ok(typeof child.description === 'string' && child.description.length > 10, `${where}.${key}: description`);
      walk(child, `${where}.${key}`);
    }
    if (node.items) walk(node.items, `${where}[]`);
  };
  walk(schema, 'numbers');
  assert.equal(schema.properties?.auto_replace?.items?.properties?.pattern?.format, 'regex');
});

test('the schema, applied with defaults by ajv, yields DEFAULT_NUMBER_SETTINGS and agrees with the model on bad values', () => {
  const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
  const ajv = new Ajv({ useDefaults: true, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('path', () => true); // the settings loader's marker for values it resolves against the file's folder
  // As the settings loader would use it: one section of the settings file, absent = {} + key defaults.
  const { $schema: _ignored, ...section } = schema;
  const file = ajv.compile({ type: 'object', properties: { numbers: section } });
  const settings: Record<string, unknown> = {};
  assert.equal(file(settings), true, JSON.stringify(file.errors));
  assert.deepEqual(settings, { numbers: { ...DEFAULT_NUMBER_SETTINGS } });
  const validate = (numbers: unknown) => file({ numbers });
  const spec = { prefixes: ['+7495', '8495', '+7', '7', '8'], auto_replace: [{ pattern: '^\\+7(\\d{10})$', replacement: '8$1' }] };
  assert.equal(validate(spec), true, JSON.stringify(file.errors));
  assert.equal(create(spec).build('+79001234567').custom, '89001234567');
  for (const bad of [
    { auto_replace: [{ pattern: '(', replacement: '' }] },
    { prefixes: ['+7 '] },
    { prefixes: ['8', '8'] },
    { internal_max_length: 0 },
    { fmc_patterns_file: 1 },
    { prefix: [] },
    { auto_replace: [{ pattern: '1' }] },
  ]) {
    assert.equal(validate(structuredClone(bad)), false, `schema accepts ${JSON.stringify(bad)}`);
    assert.throws(() => create(bad), NumberSettingsError, `model accepts ${JSON.stringify(bad)}`);
  }
});
