// A hook ported from the PHP customizer keeps its `{ state, data }` return envelope (docs/migration.md):
// the host unwraps it to the point's own output, an empty `data` cancels a cancellable request as it did
// there, and a state other than "success" is a failure (the point's default applies). Real sandbox.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { phoneInput, removeDir, sampleCall, startHost, tempDir, writeHook } from './helpers.js';

test('the PHP envelope { state, data } is accepted at every kind of point', async (t) => {
  const dir = await tempDir('envelope');
  t.after(() => removeDir(dir));
  await writeHook(dir, 'need_registration.ts', `export default function () { return { state: 'success', data: { result: false } }; }`);
  await writeHook(dir, 'process_client_phone.ts', `export default function (input: { number: { custom: string } }) { return { data: { phone: '8' + input.number.custom.slice(2) }, state: 'success' }; }`);
  await writeHook(dir, 'process_registration_params.ts', `export default function (input: { params: Record<string, unknown> }) {
  return input.params.PHONE_NUMBER === '15550000' ? { state: 'success', data: [] } : { state: 'success', data: { ...input.params, SHOW: 0 } };
}`);
  await writeHook(dir, 'process_user_phone.ts', `export default function () { return { state: 'error', data: { phone: '1' } }; }`);
  const host = await startHost(dir, { watch: false });
  t.after(() => host.close());

  const nr = await host.runPoint('need_registration', { call_full: sampleCall, call_stage: 'conversation_requested' }, { stage: 'conversation_requested' });
  assert.equal(nr.value, false, JSON.stringify(nr.trace.hooks));
  const phone = await host.runPoint('process_client_phone', phoneInput(), { stage: 'conversation_requested' });
  assert.equal(phone.value, '89001234567', JSON.stringify(phone.trace.hooks));
  const kept = await host.runPoint('process_registration_params', { call_full: sampleCall, params: { PHONE_NUMBER: '89001234567', TYPE: 2 } });
  assert.deepEqual(kept.value, { PHONE_NUMBER: '89001234567', TYPE: 2, SHOW: 0 });
  const cancelled = await host.runPoint('process_registration_params', { call_full: sampleCall, params: { PHONE_NUMBER: '15550000', TYPE: 2 } });
  assert.equal(cancelled.cancelled, true, 'empty data cancels the request, as in the PHP customizer');
  const failed = await host.runPoint('process_user_phone', phoneInput('201'), { stage: 'conversation_requested' });
  assert.equal(failed.trace.hooks[0]?.outcome, 'failed');
  assert.equal(failed.trace.hooks[0]?.error?.code, 'HOOK_BAD_RESULT');
  assert.match(failed.trace.hooks[0]?.error?.message ?? '', /state "error"/);
  assert.equal(failed.value, '201', 'the default applies');
});

test('the ported hook of docs/migration.md loads (callhook check) and answers through its envelope', async (t) => {
  const doc = readFileSync('docs/migration.md', 'utf8');
  const example = /```ts\n([\s\S]*?)```/.exec(doc.slice(doc.indexOf('## The `{state, data}` envelope')))?.[1] ?? '';
  assert.match(example, /state: 'success', data: \{ result:/);
  const dir = await tempDir('migration');
  t.after(() => removeDir(dir));
  await writeHook(dir, 'need_registration.ts', example);
  const r = spawnSync(process.execPath, [path.resolve('bin/callhook.js'), 'check', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const host = await startHost(dir, { watch: false });
  t.after(() => host.close());
  const call = JSON.parse(JSON.stringify(sampleCall)) as { channel: { to: { original: string } } };
  call.channel.to.original = '112';
  const blocked = await host.runPoint('need_registration', { call_full: call as never, call_stage: 'conversation_requested' }, { stage: 'conversation_requested' });
  assert.equal(blocked.value, false);
});
