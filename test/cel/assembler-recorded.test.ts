// The 11 calls recorded on Asterisk 22.10.1 (test/fixtures/cel/cel-asterisk22-local.jsonl) against
// their truth file, which was written from the actions that drove each call, not from the rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { assembleAll, type FinishedCall, type StageEvent } from '../../core/cel/assembler/index.js';
import { DIALSTATUS_TO_SIP } from '../../core/cel/result-codes.js';
import { FIXTURES, RECORDED, answeredBy, finalParty, loadRows, recordedScenarioOfRow, stageString, testNumbers } from './assembler-kit.js';

interface Truth {
  direction: 'local' | 'incoming' | 'outgoing';
  caller: string;
  dialed: string;
  external_number: string | null;
  internal_rang: string[];
  answered: boolean;
  answered_by: string | null;
  final_party: string | null;
  expected_dialstatus: string | null;
  transfers: { type: 'blind' | 'attended'; transferer: string; target: string }[];
  park: { parked_by: string; lot: string; retrieved_by: string } | null;
  pickup: { ringing: string; picked_up_by: string } | null;
  originate: { exten: string } | null;
}

const truth = (JSON.parse(readFileSync(path.join(FIXTURES, 'cel-asterisk22-local.truth.json'), 'utf8')) as { scenarios: Record<string, Truth> }).scenarios;
const rows = loadRows(RECORDED);
const scenarioOfRow = recordedScenarioOfRow();
const warnings: string[] = [];
const { calls, stages } = assembleAll(rows, { calls: {}, numbers: testNumbers, onWarning: (w) => warnings.push(w.code) });

function callOf(scenario: string): { call: FinishedCall; stages: StageEvent[] } {
  const firstRow = rows.find((r) => scenarioOfRow.get(r.id) === scenario);
  assert.ok(firstRow, `scenario ${scenario} has rows`);
  const call = calls.find((c) => c.linkedid === firstRow.linkedid);
  assert.ok(call, `a call with linkedid ${firstRow.linkedid} (${scenario})`);
  return { call, stages: stages.filter((s) => s.linkedid === call.linkedid) };
}

test('the recording yields exactly its 11 calls, each completed by LINKEDID_END, with no warnings', () => {
  assert.equal(calls.length, Object.keys(truth).length);
  assert.deepEqual(calls.map((c) => c.complete), calls.map(() => 'linkedid_end'));
  assert.deepEqual(warnings, []);
  assert.equal(calls.reduce((n, c) => n + c.rowCount, 0), rows.length, 'every row belongs to exactly one call');
});

const TYPE = { local: 'local', incoming: 'incoming', outgoing: 'outgoing' } as const;

for (const [scenario, t] of Object.entries(truth)) {
  test(`recorded ${scenario}: type, numbers, who answered, result`, () => {
    const { call, stages: own } = callOf(scenario);
    const f = call.callFull;
    assert.equal(f.channel.type, TYPE[t.direction], 'type');
    assert.equal(f.channel.from.original, t.caller, 'from = the caller');
    if (t.direction !== 'incoming') assert.equal(f.channel.to.original, t.dialed, 'to = the dialled number');
    else assert.equal(f.channel.trunk.original, 'pstn-in', 'trunk of an incoming call');
    assert.equal(f.channel.was_answered, t.answered, 'was_answered');
    assert.equal(f.channel.answer_time !== '0001-01-01 00:00:00', t.answered, 'answer_time set iff answered');
    assert.equal(f.channel.state, 'ended');
    assert.equal(f.channel.is_primary, true);
    assert.equal(f.channel.id, call.linkedid, 'the main channel is the one whose uniqueid = linkedid');
    assert.equal(f.is_ivr, false, 'no recorded call is an IVR hang-up');

    const expectedResult = t.expected_dialstatus === null ? 487 : DIALSTATUS_TO_SIP[t.expected_dialstatus];
    assert.equal(f.result, expectedResult, `result from dialstatus ${String(t.expected_dialstatus)}`);

    // Who answered: the internal extension, or the external party for outgoing calls.
    const by = answeredBy(f);
    if (t.answered_by === 'external') assert.equal(by, f.channel.to.original);
    else assert.equal(by, t.answered_by, 'answered by');
    if (t.direction === 'outgoing') assert.equal(f.channel.from.original, t.final_party);
    else assert.equal(finalParty(f), t.final_party, 'final party');

    // Phones that rang = the internal conversations, apart from park retrievers and pickup pickers.
    const internal = Object.values(f.conversations).map((c) => c.channel.to.original).filter((n) => testNumbers.isInternal(n));
    const extraParties = [t.park?.retrieved_by, t.pickup?.picked_up_by].filter((x): x is string => typeof x === 'string');
    assert.deepEqual(internal, [...t.internal_rang, ...extraParties], 'internal conversations in order');
    for (const conv of Object.values(f.conversations)) {
      assert.equal(conv.channel.state, 'ended');
      assert.equal(conv.is_parked, false, 'nothing is parked once the call is over');
      assert.equal(conv.channel.was_answered, conv.channel.answer_time !== '0001-01-01 00:00:00');
    }

    // Stage order: per conversation requested < accepted < ended; one call_ended, last.
    assert.equal(own.filter((s) => s.stage === 'call_ended').length, 1);
    assert.equal(own[own.length - 1]?.stage, 'call_ended');
    for (const id of Object.keys(f.conversations)) {
      const seq = own.filter((s) => s.conversationId === id).map((s) => s.stage);
      const wasAnswered = f.conversations[id]!.channel.was_answered;
      assert.deepEqual(seq, wasAnswered
        ? ['conversation_requested', 'conversation_accepted', 'conversation_ended']
        : ['conversation_requested', 'conversation_ended'], `stages of ${id}`);
    }
  });
}

test('recorded blind and attended transfers: the target becomes a conversation, the transferer\'s ends first', () => {
  for (const scenario of ['local_inbound_blind_transfer', 'local_inbound_attended_transfer']) {
    const t = truth[scenario]!;
    const { call, stages: own } = callOf(scenario);
    const convs = Object.values(call.callFull.conversations);
    const transferer = convs.find((c) => c.channel.to.original === t.transfers[0]!.transferer)!;
    const target = convs.find((c) => c.channel.to.original === t.transfers[0]!.target)!;
    assert.ok(transferer && target);
    const key = t.transfers[0]!.type === 'blind' ? 'extension' : 'bridge1_id';
    assert.ok(key in transferer.channel.extra, `${scenario}: the transferer's extra keeps the ${t.transfers[0]!.type} transfer`);
    if (t.transfers[0]!.type === 'blind') assert.equal(transferer.channel.extra['extension'], '202');
    const endOfTransferer = own.findIndex((s) => s.stage === 'conversation_ended' && s.conversationId === transferer.channel.id);
    const endOfTarget = own.findIndex((s) => s.stage === 'conversation_ended' && s.conversationId === target.channel.id);
    assert.ok(endOfTransferer < endOfTarget, `${scenario}: transferer's conversation ends before the target's`);
    // While the target talks, it is the active conversation.
    const accepted = own.find((s) => s.stage === 'conversation_accepted' && s.conversationId === target.channel.id)!;
    assert.equal(accepted.callFull.active_conversation_id, target.channel.id);
  }
});

test('recorded park: the parker\'s conversation shows is_parked while the call waits; the retriever answers', () => {
  const { call, stages: own } = callOf('local_inbound_park_and_retrieve');
  const parkerEnded = own.find((s) => s.stage === 'conversation_ended' && s.callFull.conversations[s.conversationId]?.channel.to.original === '201')!;
  assert.equal(parkerEnded.callFull.conversations[parkerEnded.conversationId]!.is_parked, true);
  assert.equal(call.callFull.channel.extra['parking_lot'], 'default');
  assert.equal(call.callFull.channel.extra['reason'], 'ParkedCallUnparked');
  const retriever = Object.values(call.callFull.conversations).find((c) => c.channel.to.original === '202')!;
  assert.equal(retriever.channel.was_answered, true);
  assert.ok(retriever.channel.id !== call.linkedid, 'the retriever (own linkedid at first) was merged into the parked call');
});

test('recorded pickup: the ringing phone is not answered, the picker is', () => {
  const { call } = callOf('local_directed_pickup');
  const convs = Object.values(call.callFull.conversations);
  assert.deepEqual(convs.map((c) => [c.channel.to.original, c.channel.was_answered]), [['204', false], ['202', true]]);
  assert.equal(convs[0]!.channel.extra['pickup_channel'], 'Local/202@phones-00000035;1');
});

test('recorded user-defined event is kept in extra and does not disturb the call', () => {
  const { call, stages: own } = callOf('local_user_defined');
  assert.equal(call.callFull.channel.extra['CRM_TAG'], 'order=12345');
  assert.equal(stageString(own, call.linkedid), 'E');
});

test('stage snapshots are independent copies', () => {
  const { stages: own } = callOf('local_answered_internal');
  const first = own[0]!;
  assert.equal(first.callFull.channel.state, 'ringing');
  first.callFull.channel.from.variants.push('mutated');
  (first.callFull.channel.extra as Record<string, unknown>)['x'] = 1;
  assert.ok(!own[1]!.callFull.channel.from.variants.includes('mutated'));
  assert.equal(own[1]!.callFull.channel.extra['x'], undefined);
  assert.deepEqual(own.map((s) => s.callFull.channel.state), ['ringing', 'talking', 'talking', 'ended']);
});
