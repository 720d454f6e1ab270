// The assembler's push-path shortcuts must not change any output: the JSON.parse-free reading of the
// usual BRIDGE_*/HANGUP extra (fast-extra.ts) gives exactly what JSON.parse gives, or declines; the
// conversations map (a dictionary-mode object, render.ts) is still an ordinary object; and emitted
// snapshots stay as they were when later rows arrive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallAssembler, type StageEvent } from '../../core/cel/assembler/index.js';
import { fastExtra } from '../../core/cel/assembler/fast-extra.js';
import { RECORDED, loadRows, testNumbers } from './assembler-kit.js';

test('fastExtra reads BRIDGE_*/HANGUP extra exactly as JSON.parse, or declines', () => {
  const accepted = [
    ['BRIDGE_ENTER', '{"bridge_id":"1e2a-77","bridge_technology":"simple_bridge"}'],
    ['BRIDGE_EXIT', '{"bridge_id":"","bridge_technology":""}'],
    ['HANGUP', '{"hangupcause":16,"hangupsource":"PJSIP/201-0000001f","dialstatus":"ANSWER"}'],
    ['HANGUP', '{"hangupcause":0,"hangupsource":"","dialstatus":""}'],
    ['HANGUP', '{"hangupcause":123456789,"hangupsource":"ü","dialstatus":"BUSY"}'],
  ] as const;
  for (const [type, text] of accepted) {
    const fast = fastExtra(type, text);
    assert.ok(fast !== undefined, text);
    assert.deepEqual(fast, JSON.parse(text));
    assert.deepEqual(Object.keys(fast), Object.keys(JSON.parse(text) as object), 'same key order');
  }
  const declined = [
    ['BRIDGE_ENTER', '{"bridge_technology":"simple_bridge","bridge_id":"x"}'],
    ['BRIDGE_ENTER', '{"bridge_id":"a\\"b","bridge_technology":"simple_bridge"}'],
    ['BRIDGE_ENTER', '{"bridge_id":"a\\u0041","bridge_technology":"simple_bridge"}'],
    ['BRIDGE_ENTER', '{"bridge_id":"a\tb","bridge_technology":"simple_bridge"}'],
    ['BRIDGE_ENTER', '{"bridge_id":"x","bridge_technology":"simple_bridge"} '],
    ['BRIDGE_ENTER', '{"bridge_id":"x","bridge_technology":"simple_bridge"'],
    ['BRIDGE_ENTER', '{"bridge_id":"x","bridge_technology":"simple_bridge","extra":"y"}'],
    ['BRIDGE_ENTER', '{ "bridge_id":"x","bridge_technology":"simple_bridge"}'],
    ['HANGUP', '{"hangupcause":016,"hangupsource":"","dialstatus":""}'],
    ['HANGUP', '{"hangupcause":-1,"hangupsource":"","dialstatus":""}'],
    ['HANGUP', '{"hangupcause":1.5,"hangupsource":"","dialstatus":""}'],
    ['HANGUP', '{"hangupcause":1234567890,"hangupsource":"","dialstatus":""}'],
    ['HANGUP', '{"hangupcause":"16","hangupsource":"","dialstatus":""}'],
    ['HANGUP', '{"hangupcause":,"hangupsource":"","dialstatus":""}'],
    ['HANGUP', '{"hangupcause":16,"hangupsource":"","dialstatus":"","x":1}'],
    ['HANGUP', '16,PJSIP/201,ANSWER'],
    ['ATTENDEDTRANSFER', '{"bridge_id":"x","bridge_technology":"simple_bridge"}'],
  ] as const;
  for (const [type, text] of declined) assert.equal(fastExtra(type, text), undefined, text);
});

test('broken bridge/hangup extra is still reported as bad_extra', () => {
  const rows = loadRows(RECORDED);
  const broken = rows.map((r) => (r.eventtype === 'BRIDGE_ENTER' || r.eventtype === 'HANGUP') && r.extra !== '' ? { ...r, extra: r.extra.slice(0, -1) } : r);
  const a = new CallAssembler({ calls: {}, numbers: testNumbers });
  for (const r of broken) a.push(r);
  assert.equal(a.stats.badExtra, rows.filter((r) => (r.eventtype === 'BRIDGE_ENTER' || r.eventtype === 'HANGUP') && r.extra !== '').length);
});

test('conversations maps are ordinary objects, and emitted snapshots do not change with later rows', () => {
  const a = new CallAssembler({ calls: {}, numbers: testNumbers });
  const events: StageEvent[] = [];
  const texts: string[] = [];
  const drain = (): void => {
    for (const e of a.drainStages()) {
      events.push(e);
      texts.push(JSON.stringify(e.callFull));
    }
  };
  for (const r of loadRows(RECORDED)) {
    a.push(r);
    drain();
  }
  a.flush();
  drain();
  assert.ok(events.length > 40);
  events.forEach((e, i) => {
    assert.equal(JSON.stringify(e.callFull), texts[i], `${e.stage} of ${e.linkedid}`);
    assert.equal(Object.getPrototypeOf(e.callFull.conversations), Object.prototype);
  });
});
