// The example hooks (also the demo's hooks) on the recorded Asterisk calls: the CEL sample is assembled
// into stage events, and every stage runs through the host exactly as the connector will run it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { assembleAll } from '../../core/cel/assembler/index.js';
import type { JsonObject } from '../../hooks/engine.js';
import { buildPointInput } from '../../hooks/inputs.js';
import { RECORDED, loadRows, testNumbers } from '../cel/assembler-kit.js';
import { removeDir, startHost, tempDir } from './helpers.js';

test('example hooks on the recorded calls: local calls dropped, customer calls registered, numbers and paths as documented', async (t) => {
  const root = await tempDir('examples-rec');
  t.after(() => removeDir(root));
  const host = await startHost('examples/hooks', { watch: false, recordingsRoot: root });
  t.after(() => host.close());
  assert.deepEqual(
    host.status().map((s) => [s.hook, s.state]),
    [
      ['need_registration.blacklist.ts', 'active'],
      ['need_registration.whitelist.ts', 'active'],
      ['post_registration.ts', 'active'],
      ['process_client_phone.ts', 'active'],
      ['process_originate_params.ts', 'active'],
      ['process_record_file_path.ts', 'active'],
    ],
  );
  const { stages } = assembleAll(loadRows(RECORDED), { calls: {}, numbers: testNumbers });
  assert.ok(stages.length > 40);
  const decisions = new Map<string, Set<boolean>>();
  let ran = 0;
  for (const ev of stages) {
    const call = ev.callFull as unknown as JsonObject;
    const ctx = { stage: ev.stage, callId: ev.linkedid };
    const nr = await host.runPoint('need_registration', buildPointInput('need_registration', call, { stage: ev.stage }), ctx);
    const phone = await host.runPoint('process_client_phone', buildPointInput('process_client_phone', call, { stage: ev.stage }), ctx);
    ran += 2;
    for (const r of [nr, phone]) assert.ok(r.trace.hooks.every((h) => h.outcome === 'ok'), JSON.stringify(r.trace.hooks));
    const set = decisions.get(ev.linkedid) ?? new Set<boolean>();
    set.add(nr.value === true);
    decisions.set(ev.linkedid, set);
    const type = ev.callFull.channel.type;
    if (type === 'local') assert.equal(nr.value, false, `${ev.linkedid} ${ev.stage}: internal calls are not logged`);
    if (type === 'incoming') assert.equal(phone.value, '15551234', 'a non-Russian number passes the +7 rewrite unchanged');
    if (ev.stage === 'call_ended') {
      const rec = await host.runPoint('process_record_file_path', buildPointInput('process_record_file_path', call, { recordingsRoot: root }), ctx);
      assert.match(String(rec.value), new RegExp(`^${root.replace(/[/\\]/g, '\\$&')}\\${path.sep}\\d{4}/\\d{2}/\\d{2}/\\d{6}_`));
      const post = await host.runPoint('post_registration', { call_full: call }, ctx);
      assert.equal(post.trace.hooks[0]?.outcome, 'ok', JSON.stringify(post.trace.hooks));
      ran += 2;
    }
  }
  // A call's decision is the same at every stage (no half-registered calls).
  for (const [id, set] of decisions) assert.equal(set.size, 1, `call ${id} got both decisions`);
  const registered = [...decisions.values()].filter((s) => s.has(true)).length;
  assert.equal(registered, 5, 'the 4 incoming calls (incl. the queue) and the outgoing one');
  const st = host.status().find((s) => s.hook === 'need_registration.blacklist.ts');
  assert.ok((st?.calls ?? 0) > 0 && st?.failures === 0 && ran > 100);

  const originate = await host.runPoint('process_originate_params', buildPointInput('process_originate_params', { channel: { type: 'outgoing', from: { original: '201', custom: '', base: '201', is_local: true, variants: [] }, to: { original: '+1 555 512 345', custom: '', base: '', is_local: false, variants: [] } } }), { stage: 'click_to_call' });
  assert.equal((originate.value as { extension: string }).extension, '01555512345');
});

test('runStageFlow: need_registration gates the stage, rewritten numbers reach the later hooks, end-of-call points run in order', async (t) => {
  const { runStageFlow } = await import('../../hooks/flow.js');
  const { sampleCall } = await import('./helpers.js');
  const root = await tempDir('flow-rec');
  t.after(() => removeDir(root));
  const host = await startHost('examples/hooks', { watch: false, recordingsRoot: root });
  t.after(() => host.close());

  const ringing = await runStageFlow(host, sampleCall, 'conversation_requested', { callId: 'c1', recordingsRoot: root });
  assert.equal(ringing.registered, true);
  assert.deepEqual(ringing.results.map((r) => r.point), ['need_registration', 'process_client_phone', 'process_user_phone', 'process_registration_params', 'customize_show_call_card']);
  const channel = ringing.callFull.channel as { from: { custom: string } };
  assert.equal(channel.from.custom, '89001234567', 'the +7 rewrite fills custom');
  const conv = Object.values(ringing.callFull.conversations as Record<string, { channel: { from: { custom: string } } }>)[0];
  assert.equal(conv?.channel.from.custom, '89001234567');
  const reg = ringing.results.find((r) => r.point === 'process_registration_params')?.result;
  assert.equal((reg?.value as { PHONE_NUMBER: string }).PHONE_NUMBER, '89001234567');

  const end = await runStageFlow(host, sampleCall, 'call_ended', { callId: 'c1', recordingsRoot: root });
  assert.deepEqual(end.results.map((r) => r.point), [
    'need_registration', 'process_client_phone', 'process_user_phone', 'process_final_params', 'process_record_file_path',
    'customize_attach_record_url', 'customize_activity', 'customize_entity', 'post_registration',
  ], 'answered call: no missed-call task');
  assert.ok(end.results.every((r) => r.result.trace.hooks.every((h) => h.outcome === 'ok')));

  const local = { ...sampleCall, channel: { ...(sampleCall.channel as object), type: 'local' } };
  const dropped = await runStageFlow(host, local, 'call_ended');
  assert.equal(dropped.registered, false);
  assert.deepEqual(dropped.results.map((r) => r.point), ['need_registration']);
});
