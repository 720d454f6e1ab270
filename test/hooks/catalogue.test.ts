import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CALL_STAGES, HOOK_POINTS, HOOK_POINT_NAMES, getHookPoint, isEmptyData } from '../../hooks/catalogue.js';
import { renderHooksDoc, renderHooksDts } from '../../hooks/generate-types.js';
import { checkOutput } from '../../hooks/validation.js';

const REQUIRED = [
  'need_registration', 'process_client_phone', 'process_user_phone', 'process_originate_params', 'process_record_file_path',
  'post_registration', 'process_registration_params', 'process_final_params', 'customize_entity', 'customize_activity',
  'process_task_creation_params', 'customize_autodistribution', 'customize_show_call_card', 'customize_attach_record_url',
  'process_call_params', 'process_contact_creation_params', 'process_lead_creation_params',
  'process_contact_update_params', 'process_lead_update_params', 'process_unsorted_creation_params',
];

test('the catalogue declares every required hook exactly once', () => {
  assert.deepEqual([...HOOK_POINT_NAMES].sort(), [...REQUIRED].sort());
  assert.equal(new Set(HOOK_POINT_NAMES).size, HOOK_POINT_NAMES.length);
});

test('the required hooks have the composition, stages and defaults of the issue', () => {
  const nr = getHookPoint('need_registration');
  assert.equal(nr.kind, 'all');
  assert.deepEqual([...nr.stages], [...CALL_STAGES]);
  assert.equal(getHookPoint('process_client_phone').kind, 'waterfall');
  assert.deepEqual(getHookPoint('process_client_phone').thread, ['number', 'custom']);
  assert.equal(getHookPoint('process_originate_params').kind, 'waterfall');
  assert.deepEqual(getHookPoint('process_originate_params').thread, []);
  assert.equal(getHookPoint('post_registration').kind, 'parallel');
  assert.equal(getHookPoint('process_registration_params').cancellable, true);
  assert.equal(getHookPoint('need_registration').cancellable, false);
  for (const p of HOOK_POINTS) assert.ok(p.budgetMs > 0 && p.defaultDoc.length > 0, p.name);
});

test('output schemas accept good results and reject garbage', () => {
  assert.equal(checkOutput('need_registration', true), null);
  assert.match(checkOutput('need_registration', 'yes') ?? '', /boolean/);
  assert.equal(checkOutput('process_client_phone', '89001234567'), null);
  assert.notEqual(checkOutput('process_client_phone', ''), null);
  assert.notEqual(checkOutput('process_client_phone', 42), null);
  const originate = { caller_id: '201', channel: 'PJSIP/201', context: 'from-internal', extension: '0155512345', priority: '1', request_data: '{}' };
  assert.equal(checkOutput('process_originate_params', originate), null);
  assert.notEqual(checkOutput('process_originate_params', { ...originate, extension: '' }), null);
  assert.notEqual(checkOutput('process_originate_params', { ...originate, evil: 'x' }), null);
});

test('empty data (null, {}, []) is the cancel signal, anything else is not', () => {
  for (const v of [null, undefined, {}, []]) assert.equal(isEmptyData(v), true);
  for (const v of [{ a: 1 }, [1], '', 0, false]) assert.equal(isEmptyData(v), false);
});

test('settings schema lists exactly the catalogue points (no drift)', () => {
  const schema = JSON.parse(readFileSync('types/settings/hooks.schema.json', 'utf8')) as {
    properties: { points: { propertyNames: { enum: string[] } }; budgets: { propertyNames: { enum: string[] } } };
  };
  assert.deepEqual([...schema.properties.points.propertyNames.enum].sort(), [...HOOK_POINT_NAMES].sort());
  assert.deepEqual([...schema.properties.budgets.propertyNames.enum].sort(), [...HOOK_POINT_NAMES].sort());
});

test('types/hooks.d.ts and docs/hooks.md are what the generator produces from the catalogue', () => {
  assert.equal(readFileSync('types/hooks.d.ts', 'utf8'), renderHooksDts(), 'run npm run types');
  assert.equal(readFileSync('docs/hooks.md', 'utf8'), renderHooksDoc(), 'run npm run types');
  const dts = renderHooksDts();
  for (const name of HOOK_POINT_NAMES) assert.ok(dts.includes(`  ${name}: { input:`), name);
  assert.match(dts, /export declare function defineHook<K extends HookName>/);
});

test('buildPointInput gives every point an input its schema accepts, with the client/employee sides by call type', async () => {
  const { buildPointInput } = await import('../../hooks/inputs.js');
  const { checkInput } = await import('../../hooks/validation.js');
  const call = JSON.parse(readFileSync('test/fixtures/hooks/call-incoming.json', 'utf8')) as Record<string, never>;
  for (const point of HOOK_POINT_NAMES) assert.equal(checkInput(point, buildPointInput(point, call)), null, point);
  const client = buildPointInput('process_client_phone', call).number as { original: string };
  const user = buildPointInput('process_user_phone', call).number as { original: string };
  assert.equal(client.original, '+79001234567');
  assert.equal(user.original, '201');
  assert.equal(checkInput('need_registration', { call_full: call, call_stage: 'lunch' }) !== null, true);
});

test('hostOptionsFromSettings defaults are the settings schema defaults', async () => {
  const { DEFAULT_HOOKS_SETTINGS } = await import('../../hooks/settings.js');
  const schema = JSON.parse(readFileSync('types/settings/hooks.schema.json', 'utf8')) as { properties: Record<string, { default: unknown }> };
  const defaults = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, v.default]));
  assert.deepEqual(DEFAULT_HOOKS_SETTINGS, defaults);
});
