// The hook host driven through a real folder: composition per kind, traces, cancel, defaults,
// confinement, settings switches and packs. Hooks run in the real sandbox (isolated-vm).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { phoneInput, removeDir, sampleCall, startHost, statusOf, tempDir, waitForStatus, writeHook } from './helpers.js';

const nrInput = (stage: string) => ({ call_full: sampleCall, call_stage: stage });

test('need_registration: every hook must say yes; the first no decides; a failing hook counts as yes', async (t) => {
  const dir = await tempDir('nr');
  t.after(() => removeDir(dir));
  await writeHook(dir, 'need_registration.a-open.ts', `export default function () { return true; }`);
  await writeHook(dir, 'need_registration.b-stage.ts', `import { defineHook } from 'callhook';
export default defineHook('need_registration', ({ call_stage }) => call_stage !== 'call_ended');`);
  await writeHook(dir, 'need_registration.c-throws.ts', `import { defineHook } from 'callhook';
export default defineHook('need_registration', ({ call_full }) => { if (call_full.channel.type === 'incoming') throw new Error('list unavailable'); return true; });`);
  const host = await startHost(dir, { watch: false });
  t.after(() => host.close());

  const yes = await host.runPoint('need_registration', nrInput('conversation_requested'), { stage: 'conversation_requested', callId: 'c1' });
  assert.equal(yes.value, true);
  assert.deepEqual(yes.trace.hooks.map((h) => h.hook), ['need_registration.a-open.ts', 'need_registration.b-stage.ts', 'need_registration.c-throws.ts']);
  const failed = yes.trace.hooks[2];
  assert.equal(failed?.outcome, 'failed');
  assert.equal(failed?.error?.code, 'HOOK_THROW');
  assert.equal(failed?.error?.hook, 'need_registration.c-throws.ts');
  assert.equal(failed?.fallback?.reason, 'failed');
  assert.equal(yes.trace.callId, 'c1');
  assert.ok(yes.trace.hooks.every((h) => /^[0-9a-f]{8,}$/.test(h.contentHash)));

  const no = await host.runPoint('need_registration', nrInput('call_ended'), { stage: 'call_ended' });
  assert.equal(no.value, false);
  assert.equal(no.trace.hooks.length, 2, JSON.stringify(no.trace.hooks));
  assert.equal(no.trace.defaultApplied, null);
  JSON.parse(JSON.stringify(no.trace)); // the trace is JSON-serialisable

  await assert.rejects(host.runPoint('need_registration', nrInput('x'), { stage: 'click_to_call' }), /does not run at stage 'click_to_call'/);
  const st = statusOf(host, 'need_registration.c-throws.ts');
  assert.equal(st.calls, 1, 'asked once: the second call stopped at the first no');
  assert.equal(st.failures, 1);
  assert.equal(st.source, 'file');
  assert.equal(st.order, 2);
});

test('waterfall: each hook sees the previous result; a bad result is skipped; the default is the auto-replaced number', async (t) => {
  const dir = await tempDir('wf');
  t.after(() => removeDir(dir));
  const host0 = await startHost(dir, { watch: false });
  const none = await host0.runPoint('process_client_phone', phoneInput(), { stage: 'conversation_requested' });
  assert.equal(none.value, '+79001234567');
  assert.equal(none.trace.defaultApplied?.reason, 'absent');
  await host0.close();

  await writeHook(dir, 'process_client_phone.1.ts', `import { defineHook } from 'callhook';
export default defineHook('process_client_phone', ({ number }) => number.custom.replace(/^\\+7/, '8'));`);
  await writeHook(dir, 'process_client_phone.2.ts', `export default function (input: { number: { custom: string } }) { return 42 as unknown as string; }`);
  await writeHook(dir, 'process_client_phone.3.ts', `import { defineHook } from 'callhook';
export default defineHook('process_client_phone', ({ number }) => number.custom + '#3');`);
  const host = await startHost(dir, { watch: false });
  t.after(() => host.close());
  const r = await host.runPoint('process_client_phone', phoneInput(), { stage: 'conversation_requested' });
  assert.equal(r.value, '89001234567#3');
  assert.deepEqual(r.trace.hooks.map((h) => [h.saw, h.outcome]), [
    ['+79001234567', 'ok'],
    ['89001234567', 'failed'],
    ['89001234567', 'ok'],
  ]);
  assert.equal(r.trace.hooks[1]?.error?.code, 'HOOK_BAD_RESULT');
  assert.equal(r.trace.defaultApplied, null);
});

test('cancel: an empty result in front of a CRM request cancels it, counted as a cancel, not a failure', async (t) => {
  const dir = await tempDir('cancel');
  t.after(() => removeDir(dir));
  await writeHook(dir, 'process_registration_params.ts', `import { defineHook } from 'callhook';
export default defineHook('process_registration_params', ({ params }) => (params.PHONE_NUMBER === '15550000' ? {} : { ...params, SHOW: 0 }));`);
  const host = await startHost(dir, { watch: false });
  t.after(() => host.close());
  const kept = await host.runPoint('process_registration_params', { call_full: sampleCall, params: { PHONE_NUMBER: '89001234567', TYPE: 2 } });
  assert.deepEqual(kept.value, { PHONE_NUMBER: '89001234567', TYPE: 2, SHOW: 0 });
  assert.equal(kept.cancelled, false);
  const cancelled = await host.runPoint('process_registration_params', { call_full: sampleCall, params: { PHONE_NUMBER: '15550000', TYPE: 2 } });
  assert.equal(cancelled.cancelled, true);
  assert.equal(cancelled.value, null);
  assert.equal(cancelled.trace.cancelledBy, 'process_registration_params.ts');
  assert.match(cancelled.trace.defaultApplied?.detail ?? '', /cancelled by customization/);
  const st = statusOf(host, 'process_registration_params.ts');
  assert.deepEqual([st.calls, st.failures, st.cancels], [2, 0, 1]);
});

test('post_registration: hooks run independently; one failing affects nothing else', async (t) => {
  const dir = await tempDir('par');
  t.after(() => removeDir(dir));
  await writeHook(dir, 'post_registration.a.ts', `import { defineHook } from 'callhook';
export default defineHook('post_registration', () => { throw new Error('webhook down'); });`);
  await writeHook(dir, 'post_registration.b.ts', `import { defineHook, log } from 'callhook';
export default defineHook('post_registration', ({ call_full }) => { log.info('registered', { id: call_full.channel.id }); return null; });`);
  const host = await startHost(dir, { watch: false });
  t.after(() => host.close());
  const r = await host.runPoint('post_registration', { call_full: { ...sampleCall, registration: { id: 'B24-1' } } }, { stage: 'call_ended' });
  assert.equal(r.value, null);
  assert.deepEqual(r.trace.hooks.map((h) => h.outcome).sort(), ['failed', 'ok']);
  assert.equal(statusOf(host, 'post_registration.b.ts').failures, 0);
});

test('process_record_file_path: results are confined to the recordings root', async (t) => {
  const dir = await tempDir('rec');
  const root = await tempDir('rec-root');
  t.after(() => Promise.all([removeDir(dir), removeDir(root)]));
  await mkdir(path.join(root, 'ok'));
  await symlink('/tmp', path.join(root, 'out'));
  await writeHook(dir, 'process_record_file_path.ts', `import { defineHook } from 'callhook';
export default defineHook('process_record_file_path', ({ call_full, path }) => {
  const tag = call_full.channel.name;
  if (tag === 'dots') return '../../etc/passwd';
  if (tag === 'abs') return '/etc/passwd';
  if (tag === 'link') return 'out/x.wav';
  return 'ok/' + call_full.channel.id + '.wav';
});`);
  const host = await startHost(dir, { watch: false, recordingsRoot: root });
  t.after(() => host.close());
  const input = (name: string) => {
    const channel = { ...(sampleCall.channel as object), name };
    const def = path.join(root, 'default.wav');
    return { call_full: { ...sampleCall, channel }, default_path: def, path: def, recordings_root: root };
  };
  const good = await host.runPoint('process_record_file_path', input('fine'));
  assert.equal(good.value, path.join(root, 'ok', '1732437000.10.wav'));
  for (const name of ['dots', 'abs', 'link']) {
    const r = await host.runPoint('process_record_file_path', input(name));
    assert.equal(r.value, path.join(root, 'default.wav'), name);
    assert.equal(r.trace.hooks[0]?.error?.code, 'HOOK_PATH_REFUSED', name);
  }
});

test('settings switch the customizer, a point and a file off', async (t) => {
  const dir = await tempDir('switch');
  t.after(() => removeDir(dir));
  await writeHook(dir, 'need_registration.ts', `export default function () { return false; }`);
  await writeHook(dir, 'process_client_phone.ts', `export default function () { return '1'; }`);
  await writeHook(dir, 'process_user_phone.ts', `export default function () { return '2'; }`);
  const off = await startHost(dir, { watch: false, enabled: false });
  const r = await off.runPoint('need_registration', nrInput('call_ended'));
  assert.equal(r.value, true);
  assert.equal(r.trace.defaultApplied?.reason, 'disabled');
  await off.close();

  const host = await startHost(dir, { watch: false, points: { need_registration: false }, files: { 'process_user_phone.ts': false } });
  t.after(() => host.close());
  assert.equal((await host.runPoint('need_registration', nrInput('call_ended'))).value, true);
  assert.equal((await host.runPoint('process_client_phone', phoneInput())).value, '1');
  const user = await host.runPoint('process_user_phone', phoneInput('201'));
  assert.equal(user.value, '201');
  assert.equal(statusOf(host, 'process_user_phone.ts').state, 'disabled');
});

test('packs load before loose files in settings order, validate their settings and report pack@version', async (t) => {
  const dir = await tempDir('packs');
  t.after(() => removeDir(dir));
  const loose = path.join(dir, 'hooks');
  const packA = path.join(dir, 'acme-lists');
  const packB = path.join(dir, 'strict');
  await Promise.all([mkdir(loose), mkdir(packA), mkdir(packB)]);
  await writeFile(
    path.join(packA, 'callhook.pack.json'),
    JSON.stringify({
      name: 'acme-lists',
      version: '1.2.0',
      description: 'Black list from settings',
      hooks: [{ hook: 'process_client_phone', file: 'tag.ts' }],
      settings_schema: { type: 'object', properties: { suffix: { type: 'string', default: '-acme' } } },
      allow_hosts: [],
    }),
  );
  await writeHook(packA, 'tag.ts', `import { defineHook, settings } from 'callhook';
export default defineHook('process_client_phone', ({ number }) => number.custom + String((settings as { suffix?: string }).suffix));`);
  await writeFile(
    path.join(packB, 'callhook.pack.json'),
    JSON.stringify({
      name: 'strict',
      version: '0.1.0',
      hooks: [{ hook: 'process_client_phone', file: 'x.ts' }],
      settings_schema: { type: 'object', required: ['token'], properties: { token: { type: 'string' } } },
    }),
  );
  await writeHook(packB, 'x.ts', `export default function () { return 'never'; }`);
  await writeHook(loose, 'process_client_phone.ts', `export default function (i: { number: { custom: string } }) { return i.number.custom + '-loose'; }`);
  const host = await startHost(loose, {
    watch: false,
    packs: [{ path: packA, settings: {} }, { path: packB, settings: {} }],
  });
  t.after(() => host.close());
  const r = await host.runPoint('process_client_phone', phoneInput('123'));
  assert.equal(r.value, '123-acme-loose', JSON.stringify(host.status(), null, 1));
  assert.deepEqual(r.trace.hooks.map((h) => h.source), ['acme-lists@1.2.0', 'file']);
  const st = host.status();
  const packHook = st.find((s) => s.hook === 'acme-lists@1.2.0/tag.ts');
  assert.equal(packHook?.source, 'acme-lists@1.2.0');
  assert.equal(packHook?.order, 0);
  const strict = st.find((s) => s.source === 'pack' && s.state === 'failed');
  assert.equal(strict?.lastError?.code, 'PACK_SETTINGS');
  assert.match(strict?.lastError?.message ?? '', /strict@0\.1\.0.*token/);
});

test('a file that does not name or declare a hook point, or fails its type check, is reported with file:line:col', async (t) => {
  const dir = await tempDir('bad');
  t.after(() => removeDir(dir));
  await writeHook(dir, 'helpers.ts', `export default function () { return 1; }`);
  await writeHook(dir, 'need_registration.ts', `import { defineHook } from 'callhook';
export default defineHook('need_registration', ({ call_full }) => {
  return call_full.channel.nonexistent === 1;
});`);
  await writeHook(dir, 'process_client_phone.ts', `export default function () { return 7; }`);
  const host = await startHost(dir, { watch: false });
  t.after(() => host.close());
  const s = await waitForStatus(host, (all) => all.filter((x) => x.state === 'failed').length === 3, 'three failures');
  const by = (h: string) => s.find((x) => x.hook === h);
  assert.equal(by('helpers.ts')?.lastError?.code, 'HOOK_UNKNOWN_POINT');
  const nr = by('need_registration.ts')?.lastError;
  assert.equal(nr?.code, 'HOOK_TYPECHECK');
  assert.deepEqual([nr?.file, nr?.line, nr?.column], ['need_registration.ts', 3, 28]);
  // The position is the report's own fields; the message does not repeat it (the run header prints both).
  assert.match(nr?.message ?? '', /^TS2339: Property 'nonexistent' does not exist/);
  assert.doesNotMatch(nr?.message ?? '', /need_registration\.ts:3:28/);
  const pc = by('process_client_phone.ts')?.lastError;
  assert.equal(pc?.code, 'HOOK_TYPECHECK');
  assert.match(pc?.message ?? '', /default export does not match hook 'process_client_phone'/);
});

test('a looping hook times out within its budget and a repeatedly failing hook cools down; calls keep their defaults', async (t) => {
  const dir = await tempDir('hostile');
  t.after(() => removeDir(dir));
  await writeHook(dir, 'need_registration.loop.ts', `export default function (): boolean { for (;;) {} }`);
  await writeHook(dir, 'process_user_phone.ts', `export default function (): string { throw new Error('always'); }`);
  const host = await startHost(dir, { watch: false, budgets: { need_registration: 50 } });
  t.after(() => host.close());
  const started = Date.now();
  const r = await host.runPoint('need_registration', nrInput('conversation_requested'));
  assert.equal(r.value, true);
  assert.equal(r.trace.hooks[0]?.error?.code, 'HOOK_TIMEOUT');
  assert.ok(Date.now() - started < 2000, 'the budget bounds the call');

  let last;
  for (let i = 0; i < 8; i++) last = await host.runPoint('process_user_phone', phoneInput('201'));
  assert.equal(last?.value, '201');
  assert.equal(last?.trace.hooks[0]?.outcome, 'skipped');
  assert.equal(last?.trace.defaultApplied?.reason, 'cooling_down');
  const st = statusOf(host, 'process_user_phone.ts');
  assert.equal(st.state, 'cooling_down');
  assert.ok(st.failures >= 5);
});
