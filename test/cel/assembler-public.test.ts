// Hand-converted public CEL sequences (Wazo dumps, Asterisk unit-test shapes, FreePBX paths) against
// the facts in test/fixtures/cel/public/expect.json; README.md there says where each comes from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { assembleAll, type CallsSettings } from '../../core/cel/assembler/index.js';
import { FIXTURES, answeredBy, loadRows, stageString, testNumbers } from './assembler-kit.js';

interface ExpectedCall {
  linkedid: string;
  type?: string;
  from: string;
  to: string;
  trunk?: string;
  answered: boolean;
  answeredBy: string | null;
  result: number;
  isIvr: boolean;
  record: string;
  conversations: Record<string, { to: string; answered: boolean }>;
  stages: string;
  primaryExtra?: Record<string, unknown>;
}

const dir = path.join(FIXTURES, 'public');
const expectations = JSON.parse(readFileSync(path.join(dir, 'expect.json'), 'utf8')) as Record<string, { settings: Partial<CallsSettings>; calls: ExpectedCall[] } | string>;

for (const [file, spec] of Object.entries(expectations)) {
  if (typeof spec === 'string') continue;
  test(`public sequence ${file}`, () => {
    const warnings: string[] = [];
    const { calls, stages } = assembleAll(loadRows(path.join(dir, file)), { calls: spec.settings, numbers: testNumbers, onWarning: (w) => warnings.push(w.message) });
    assert.deepEqual(warnings, []);
    assert.equal(calls.length, spec.calls.length);
    for (const want of spec.calls) {
      const got = calls.find((c) => c.linkedid === want.linkedid);
      assert.ok(got, `call ${want.linkedid}`);
      const f = got.callFull;
      assert.equal(got.complete, 'linkedid_end');
      if (want.type !== undefined) assert.equal(f.channel.type, want.type, 'type');
      assert.equal(f.channel.from.original, want.from, 'from');
      assert.equal(f.channel.to.original, want.to, 'to');
      if (want.trunk !== undefined) assert.equal(f.channel.trunk.original, want.trunk, 'trunk');
      assert.equal(f.channel.was_answered, want.answered, 'was_answered');
      assert.equal(answeredBy(f), want.answeredBy, 'answered by');
      assert.equal(f.result, want.result, 'result');
      assert.equal(f.is_ivr, want.isIvr, 'is_ivr');
      assert.equal(f.record, want.record, 'record');
      assert.deepEqual(
        Object.fromEntries(Object.entries(f.conversations).map(([id, c]) => [id, { to: c.channel.to.original, answered: c.channel.was_answered }])),
        want.conversations, 'conversations');
      assert.equal(stageString(stages, want.linkedid), want.stages, 'stage sequence');
      for (const [k, v] of Object.entries(want.primaryExtra ?? {})) assert.deepEqual(f.channel.extra[k], v, `extra.${k}`);
    }
  });
}
