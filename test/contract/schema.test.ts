// The call_full contract: real assembled calls validate; each broken field is reported by pointer with
// what was expected and what was found; the generated types and docs are what the schema renders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { assembleAll } from '../../core/cel/assembler/index.js';
import { validateAgainst, validateCallFull, type ContractError } from '../../core/contract/validate.js';
import { contractDefs, CONTRACT_DEFS } from '../../core/contract/schema.js';
import { renderCallFullDoc, renderCallFullDts } from '../../core/contract/render.js';
import type { CallFull } from '../../types/call_full.js';
import { FIXTURES, RECORDED, loadRows, testNumbers } from '../cel/assembler-kit.js';

const number = (original: string, isLocal = false) => ({ base: original, custom: '', is_local: isLocal, original, variants: original === '' ? [] : [original] });
const NO_TIME = '0001-01-01 00:00:00';

function channel(id: string, to: string) {
  return {
    answer_time: '2026-11-24 10:00:05', end_time: '2026-11-24 10:01:05', extra: { dialstatus: 'ANSWER', anything: [1, 2] },
    from: number('+79001234567'), id, is_primary: id === '1795500122.54', name: 'PJSIP/201-00000012',
    start_time: '2026-11-24 10:00:00', state: 'ended', to: number(to, true), trunk: number(''), type: 'incoming', was_answered: true,
  };
}

/** A complete call with every nullable sub-object filled, as after registration in the CRM. */
function fullCall(): CallFull {
  const user = () => ({ email: 'ivan@example.com', id: '7', name: 'Ivan', phones: ['201', '+79001112233'], position: 'Sales', raw: { ID: '7', UF_PHONE_INNER: '201' } });
  return {
    active_conversation_id: '1795500122.55',
    channel: { ...channel('1795500122.54', '201'), answer_time: NO_TIME, was_answered: false } as CallFull['channel'],
    conversations: { '1795500122.55': { channel: channel('1795500122.55', '201') as CallFull['channel'], is_parked: false, user: user() } },
    deal: { id: '31', is_new: true, name: 'Call from +79001234567', pipeline_id: '1', raw: { price: 0 }, responsible_id: '7', status_id: '142' },
    entity: { id: '55', is_new: false, name: 'ACME', phones: [number('+79001234567')], raw: { TITLE: 'ACME' }, responsible: user(), responsible_id: '7', type: 'contact' },
    is_ivr: false,
    record: 'https://pbx.example.com/rec/2026/11/24/1795500122.54.wav',
    registration: { activity_id: '', created_company_id: '', created_contact_id: '', created_deal_id: '', created_lead_id: '', entity_id: '55', entity_type: 'contact', id: 'externalCall.abc', responsible_id: '7' },
    result: 200,
  };
}

function broken(edit: (doc: Record<string, any>) => void): unknown {
  const doc = structuredClone(fullCall()) as unknown as Record<string, any>;
  edit(doc);
  return doc;
}

function only(errors: ContractError[]): ContractError {
  assert.equal(errors.length, 1, `exactly one error, got: ${errors.map((e) => e.message).join(' | ')}`);
  return errors[0]!;
}

test('every call and every stage snapshot the assembler makes from the recorded and public fixtures is a valid call_full', () => {
  const files = [RECORDED, ...readdirSync(path.join(FIXTURES, 'public')).filter((f) => f.endsWith('.jsonl')).map((f) => path.join(FIXTURES, 'public', f))];
  let documents = 0;
  for (const file of files) {
    const { calls, stages } = assembleAll(loadRows(file), { calls: {}, numbers: testNumbers });
    assert.ok(calls.length > 0, `${file} assembles calls`);
    for (const doc of [...calls.map((c) => c.callFull), ...stages.map((s) => s.callFull)]) {
      assert.deepEqual(validateCallFull(doc).map((e) => e.message), [], path.basename(file));
      documents++;
    }
  }
  assert.ok(documents > 100, `validated ${documents} documents`);
});

test('a call with user, entity, deal and registration filled is valid; unknown keys inside extra and raw are allowed', () => {
  assert.deepEqual(validateCallFull(fullCall()), []);
});

test('each broken field is reported by its JSON pointer with what was expected and what was found', () => {
  const cases: Array<{ edit: (d: Record<string, any>) => void; pointer: string; expected: RegExp; found: RegExp }> = [
    { edit: (d) => delete d.channel.from, pointer: '/channel/from', expected: /always present/, found: /missing/ },
    { edit: (d) => (d.channel.state = 'dialing'), pointer: '/channel/state', expected: /one of "ringing", "talking", "ended", "processed"/, found: /"dialing" \(string\)/ },
    { edit: (d) => (d.channel.type = 'inbound'), pointer: '/channel/type', expected: /"local", "incoming", "outgoing", "unknown"/, found: /"inbound"/ },
    { edit: (d) => (d.channel.answer_time = '2026-13-01 00:00:00'), pointer: '/channel/answer_time', expected: /YYYY-MM-DD HH:MM:SS/, found: /"2026-13-01 00:00:00"/ },
    { edit: (d) => (d.channel.end_time = ''), pointer: '/channel/end_time', expected: /0001-01-01 00:00:00/, found: /"" \(string\)/ },
    { edit: (d) => (d.channel.start_time = '2026-11-24T10:00:00Z'), pointer: '/channel/start_time', expected: /date-time/, found: /T10/ },
    { edit: (d) => (d.result = '200'), pointer: '/result', expected: /^integer$/, found: /"200" \(string\)/ },
    { edit: (d) => (d.result = 42), pointer: '/result', expected: /≥ 100/, found: /42 \(number\)/ },
    { edit: (d) => (d.result = 200.5), pointer: '/result', expected: /^integer$/, found: /200\.5/ },
    { edit: (d) => (d.is_ivr = 'no'), pointer: '/is_ivr', expected: /^boolean$/, found: /"no"/ },
    { edit: (d) => (d.entity = 'ACME'), pointer: '/entity', expected: /^Entity object or null$/, found: /"ACME"/ },
    { edit: (d) => (d.registration = []), pointer: '/registration', expected: /Registration object or null/, found: /an array of 0/ },
    { edit: (d) => delete d.registration.responsible_id, pointer: '/registration/responsible_id', expected: /always present/, found: /missing/ },
    { edit: (d) => (d.channel.to.variants = ['9001234567', 9001234567]), pointer: '/channel/to/variants/1', expected: /^string$/, found: /9001234567 \(number\)/ },
    { edit: (d) => (d.channel.colour = 'red'), pointer: '/channel/colour', expected: /unknown fields are allowed only inside extra and raw/, found: /"red"/ },
    { edit: (d) => (d.conversations['1795500122.55'].user.phones = '201'), pointer: '/conversations/1795500122.55/user/phones', expected: /^array$/, found: /"201"/ },
    { edit: (d) => (d.conversations['1795500122.55'].user = undefined), pointer: '/conversations/1795500122.55/user', expected: /always present/, found: /missing/ },
    { edit: (d) => (d.deal.raw = null), pointer: '/deal/raw', expected: /^object$/, found: /^null$/ },
    { edit: (d) => (d.conversations['1795500122.55'].channel.id = '1795500122.56'), pointer: '/conversations/1795500122.55/channel/id', expected: /"1795500122.55"/, found: /"1795500122.56"/ },
    { edit: (d) => (d.active_conversation_id = '1795500122.99'), pointer: '/active_conversation_id', expected: /key of \/conversations/, found: /"1795500122.99"/ },
    { edit: (d) => (d.conversations = { 'a/b~c': d.conversations['1795500122.55'] }), pointer: '/conversations/a~1b~0c/channel/id', expected: /"a\/b~c"/, found: /"1795500122.55"/ },
  ];
  for (const c of cases) {
    const doc = broken(c.edit);
    const errors = validateCallFull(doc).filter((e) => e.pointer !== '/active_conversation_id' || c.pointer === '/active_conversation_id');
    const e = only(errors);
    assert.equal(e.pointer, c.pointer);
    assert.match(e.expected, c.expected, c.pointer);
    assert.match(e.found, c.found, c.pointer);
    assert.ok(e.message.startsWith(`${c.pointer}: expected `), e.message);
  }
});

test('several broken fields are all reported, not just the first', () => {
  const doc = broken((d) => {
    d.channel.state = 'x';
    d.result = null;
    delete d.entity.name;
    d.channel.extra = 'dialstatus=ANSWER';
  });
  assert.deepEqual(validateCallFull(doc).map((e) => e.pointer).sort(), ['/channel/extra', '/channel/state', '/entity/name', '/result']);
});

test('sub-objects validate on their own; garbage of any type gets an error, never a throw', () => {
  assert.deepEqual(validateAgainst('CallNumber', number('+79001234567')), []);
  assert.deepEqual(validateAgainst('CallNumber', { ...number('201'), is_local: 'yes' }).map((e) => e.pointer), ['/is_local']);
  assert.deepEqual(validateAgainst('CallStage', 'call_ended'), []);
  assert.equal(only(validateAgainst('CallStage', 'call_finished')).pointer, '');
  assert.deepEqual(validateAgainst('DateTime', '0001-01-01 00:00:00'), []);
  for (const garbage of [null, undefined, 42, 'call', [], [fullCall()], { channel: null }, new Date(0)]) {
    const errors = validateCallFull(garbage);
    assert.ok(errors.length > 0, `${String(garbage)} is not a call_full`);
    for (const e of errors) assert.equal(typeof e.message, 'string');
  }
  const huge = broken((d) => (d.record = 'x'.repeat(100_000)));
  assert.deepEqual(validateCallFull(huge), [], 'a long string is still a string');
  assert.equal(only(validateCallFull(broken((d) => (d.channel.name = 7)))).pointer, '/channel/name');
});

test('the found value is shortened in messages (a 10 KB value does not flood the log)', () => {
  const e = only(validateCallFull(broken((d) => (d.channel.state = 'z'.repeat(10_000)))));
  assert.ok(e.message.length < 300, e.message);
  assert.match(e.found, /10000 characters/);
});

test('every field of every sub-object carries a description (it becomes the editor tooltip and the docs)', () => {
  const defs = contractDefs();
  for (const name of CONTRACT_DEFS) {
    const def = defs[name];
    assert.equal(typeof def.description, 'string', `${name} has a description`);
    for (const [key, prop] of Object.entries((def.properties ?? {}) as Record<string, Record<string, unknown>>)) {
      const target = typeof prop.$ref === 'string' ? defs[prop.$ref.split('/').pop() as keyof typeof defs] : undefined;
      assert.ok(typeof prop.description === 'string' || typeof target?.description === 'string', `${name}.${key} has a description`);
    }
  }
});

test('types/call_full.d.ts and docs/call_full.md are what `npm run types` renders from the schema', async () => {
  assert.equal(readFileSync('types/call_full.d.ts', 'utf8'), await renderCallFullDts(), 'types/call_full.d.ts is stale: run npm run types');
  assert.equal(readFileSync('docs/call_full.md', 'utf8'), renderCallFullDoc(), 'docs/call_full.md is stale: run npm run types');
  const dts = readFileSync('types/call_full.d.ts', 'utf8');
  for (const name of ['CallFull', 'Channel', 'CallNumber', 'Conversation', 'User', 'Entity', 'Deal', 'Registration']) {
    assert.equal(dts.match(new RegExp(`export interface ${name}\\d* `, 'g'))?.length, 1, `one declaration of ${name}`);
  }
  assert.match(dts, /state: ChannelState;/);
  assert.match(dts, /entity: Entity \| null;/);
  assert.match(dts, /\* The number the call was made from\.\n\s+\*\/\n\s+from: CallNumber;/, 'property docs survive as comments');
});
