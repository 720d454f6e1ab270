// The Kommo client against the local Kommo account over real HTTP: auth, the documented answers and how
// each is classified for the outbox, the fuzzy contact search, the 7 req/s limit, faults, no token in logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKommoClient, contactPhones, phoneMatches, type KommoClient } from '../../core/crm/kommo/index.js';
import { startLocalKommo, type LocalKommo } from '../../core/demo-crm/kommo/index.js';
import type { CrmOutcome, JsonValue } from '../../core/crm/types.js';
import { loadSettings } from '../../core/settings/index.js';
import { bufferLogger } from './kit.js';

type Obj = { [key: string]: JsonValue };

async function kommoSettings(server: LocalKommo, patch: object = {}) {
  const defaults = (await loadSettings()).crm.kommo;
  return { ...defaults, base_url: server.url, long_lived_token: server.token, ...patch };
}

async function withKommo(fn: (s: LocalKommo, c: KommoClient, log: () => string) => Promise<void>, options: Parameters<typeof startLocalKommo>[0] = {}, patch: object = {}): Promise<void> {
  const s = await startLocalKommo(options);
  const { logger, text } = bufferLogger('debug');
  const c = createKommoClient(await kommoSettings(s, patch), { logger });
  try {
    await fn(s, c, text);
  } finally {
    await c.close();
    await s.close();
  }
}

const embedded = (o: CrmOutcome, key: string): Obj[] => {
  assert.equal(o.kind, 'ok', JSON.stringify(o));
  const r = (o as { result: Obj }).result;
  return ((r._embedded as Obj)[key] as Obj[]);
};

test('contact search by the last 10 digits is fuzzy; the PHONE field decides which hit is the client', () => withKommo(async (_s, c) => {
  const o = await c.call('GET /api/v4/contacts', { query: { query: '15551234', with: 'leads' } });
  const hits = embedded(o, 'contacts');
  assert.deepEqual(hits.map((h) => h.name).sort(), ['Jane Roe', 'John Doe'], 'the search matches a note holding the digits too');
  const real = hits.filter((h) => contactPhones(h).some((p) => phoneMatches(p, '+1 555-1234'.replace(/^\+1 /, '1'))));
  assert.deepEqual(real.map((h) => h.name), ['John Doe']);
  assert.deepEqual(((real[0]!._embedded as Obj).leads as Obj[]).map((l) => l.id), [1], 'with=leads embeds the leads');
  const none = await c.call('GET /api/v4/contacts', { query: { query: '9990001122' } });
  assert.equal(none.kind, 'ok');
  assert.equal(none.status, 204, 'an empty search is 204 without a body');
  assert.equal((none as { result: JsonValue }).result, null);
}));

test('POST /api/v4/calls: attached to the one active lead; an unknown number is 400 Entity not found (rejected, not retried)', () => withKommo(async (s, c) => {
  const ok = await c.call('POST /api/v4/calls', { body: [{ direction: 'inbound', duration: 42, source: 'callhook', phone: '15551234', uniq: 'u-1', call_status: 4, responsible_user_id: 2, created_by: 2 }] });
  const calls = embedded(ok, 'calls');
  assert.equal(calls[0]!.entity_type, 'leads');
  assert.equal(s.state.calls.length, 1);
  assert.equal([...s.state.notes.values()][0]!.note_type, 'call_in');
  const unknown = await c.call('POST /api/v4/calls', { body: [{ direction: 'inbound', duration: 0, source: 'callhook', phone: '5550000', uniq: 'u-2', call_status: 6 }] });
  assert.equal(unknown.kind, 'rejected');
  assert.equal((unknown as { code: string }).code, 'ENTITY_NOT_FOUND');
  assert.match((unknown as { description: string }).description, /Entity not found/);
  const invalid = await c.call('POST /api/v4/calls', { body: [{ direction: 'sideways', duration: 'long', source: 'callhook', phone: '15551234' }] });
  assert.equal(invalid.kind, 'rejected');
  assert.equal((invalid as { code: string }).code, 'VALIDATION');
  assert.match((invalid as { description: string }).description, /direction NotSupportedChoice/);
  assert.match((invalid as { description: string }).description, /duration/);
  assert.equal(s.state.calls.length, 1, 'refused calls are not added');
  const read = await c.call('GET /api/v4/calls', {});
  assert.equal(read.kind, 'rejected');
  assert.equal(read.status, 405, 'calls cannot be read back');
}));

test('contacts and leads: create with the PHONE/WORK field, update, read back with leads; validation errors name the field', () => withKommo(async (_s, c) => {
  const created = embedded(await c.call('POST /api/v4/contacts', { body: [{ name: 'New Client', responsible_user_id: 3, custom_fields_values: [{ field_code: 'PHONE', values: [{ value: '+4930123456', enum_code: 'WORK' }] }] }] }), 'contacts');
  const id = Number(created[0]!.id);
  const lead = embedded(await c.call('POST /api/v4/leads', { body: [{ name: 'Call', responsible_user_id: 3, _embedded: { contacts: [{ id }] } }] }), 'leads');
  const patched = await c.call(`PATCH /api/v4/contacts/${id}`, { body: { name: 'Renamed' } });
  assert.equal(patched.kind, 'ok');
  const back = await c.call(`GET /api/v4/contacts/${id}`, { query: { with: 'leads' } });
  const r = (back as { result: Obj }).result;
  assert.equal(r.name, 'Renamed');
  assert.deepEqual(contactPhones(r), ['+4930123456']);
  assert.deepEqual(((r._embedded as Obj).leads as Obj[]).map((l) => l.id), [lead[0]!.id]);
  const bad = await c.call('POST /api/v4/contacts', { body: [{ name: 'X', custom_fields_values: [{ field_code: 'PHONE', values: [{ value: '1', enum_code: 'PAGER' }] }] }] });
  assert.equal(bad.kind, 'rejected');
  assert.match((bad as { snippet: string }).snippet, /validation-errors/);
  assert.match((bad as { description: string }).description, /custom_fields_values\.0\.values\.0\.enum_code NotSupportedChoice/);
  const missing = await c.call('PATCH /api/v4/leads/987654', { body: { name: 'x' } });
  assert.equal((missing as { code: string }).code, 'NOT_FOUND');
}));

test('unsorted SIP item: created once, listed with its metadata, the same uniq refused as a duplicate', () => withKommo(async (s, c) => {
  const item = { source_uid: 'callhook', source_name: 'callhook', created_at: 1_700_000_000, metadata: { phone: '5550001', from: '5550001', called_at: 1_700_000_000, duration: 0, service_code: 'callhook', uniq: 'u-9', is_call_event_needed: true } };
  const created = embedded(await c.call('POST /api/v4/leads/unsorted/sip', { body: [item] }), 'unsorted');
  assert.equal(typeof created[0]!.uid, 'string');
  assert.equal(s.state.calls.filter((x) => x.via === 'unsorted').length, 1, 'the item carries its call event');
  const listed = embedded(await c.call('GET /api/v4/leads/unsorted', { query: { 'filter[category]': 'sip', 'order[created_at]': 'desc', limit: 250 } }), 'unsorted');
  assert.equal((listed[0]!.metadata as Obj).uniq, 'u-9');
  const again = await c.call('POST /api/v4/leads/unsorted/sip', { body: [item] });
  assert.equal(again.kind, 'rejected');
  assert.match((again as { description: string }).description, /Duplicate/);
  const hidden = await c.call('GET /api/v4/contacts', { query: { query: '5550001' } });
  assert.equal(hidden.status, 204, 'a contact inside an unsorted item is not in the normal lists');
}));

test('401: the account is stopped with what to fix, later requests answer stopped without the network; the token never appears in logs', () => withKommo(async (s, c, log) => {
  s.revokeToken();
  const first = await c.call('GET /api/v4/users', {});
  assert.equal(first.kind, 'stopped');
  assert.match((first as { description: string }).description, /crm\.kommo\.long_lived_token/);
  const before = s.received.length;
  const second = await c.call('GET /api/v4/users', {});
  assert.equal(second.kind, 'stopped');
  assert.equal(s.received.length, before, 'nothing sent once stopped');
  assert.equal(c.status().state, 'stopped');
  assert.ok(!log().includes(s.token));
}, { token: 'kommo-secret-token-1234567890' }));

test('the token never appears in a log line, an outcome or a snippet', async () => {
  const secret = 'sekret-long-lived-token-abcdef0123456789';
  await withKommo(async (s, c, log) => {
    s.faults.set({ kind: 'status', status: 500, description: `echo ${secret}` });
    const o = await c.call('GET /api/v4/users', {});
    assert.equal(o.kind, 'transient');
    assert.ok(!JSON.stringify(o).includes(secret), 'redacted in the outcome');
    assert.ok(!log().includes(secret), 'redacted in the log');
  }, { token: secret });
});

test('faults: 5xx and a lost answer may have run (maybeDelivered), a refused connection did not; HTML and truncated JSON are bad answers', () => withKommo(async (s, c) => {
  s.faults.set({ kind: 'status', status: 503, method: 'GET /api/v4/users', times: 1 });
  const five = await c.call('GET /api/v4/users', {});
  assert.deepEqual([five.kind, (five as { maybeDelivered: boolean }).maybeDelivered], ['transient', true]);
  s.faults.set({ kind: 'execute-then-drop', method: 'POST /api/v4/calls', times: 1 });
  const lost = await c.call('POST /api/v4/calls', { body: [{ direction: 'outbound', duration: 5, source: 'callhook', phone: '15551234', uniq: 'lost-1' }] });
  assert.deepEqual([lost.kind, (lost as { maybeDelivered: boolean }).maybeDelivered, lost.status], ['transient', true, null]);
  assert.equal(s.state.calls.length, 1, 'the call was registered although the answer was lost');
  s.faults.set({ kind: 'html', method: 'GET /api/v4/users', times: 1 });
  const html = await c.call('GET /api/v4/users', {});
  assert.equal((html as { badAnswer: boolean }).badAnswer, true);
  s.faults.set({ kind: 'truncated', method: 'GET /api/v4/users', times: 1 });
  const cut = await c.call('GET /api/v4/users', {});
  assert.equal((cut as { badAnswer: boolean }).badAnswer, true);
  const healed = await c.call('GET /api/v4/users', {});
  assert.equal(healed.kind, 'ok');
  assert.equal(c.status().state, 'ok');
}));

test('slow answers past the timeout: transient, maybe delivered', () => withKommo(async (s, c) => {
  s.faults.set({ kind: 'slow', delayMs: 800, times: 1 });
  const o = await c.call('GET /api/v4/users', {});
  assert.deepEqual([o.kind, (o as { code: string }).code], ['transient', 'TIMEOUT']);
}, {}, { request_timeout_ms: 300 }));

test('a refused connection: transient, certainly not sent', async () => {
  const s = await startLocalKommo();
  const settings = await kommoSettings(s);
  await s.close();
  const c = createKommoClient(settings, { logger: bufferLogger().logger });
  const o = await c.call('GET /api/v4/users', {});
  assert.deepEqual([o.kind, (o as { code: string }).code, (o as { maybeDelivered: boolean }).maybeDelivered], ['transient', 'ECONNREFUSED', false]);
  await c.close();
});

test('7 requests per second: the server answers 429 above it; the client never crosses it and drains a burst at the limit', () => withKommo(async (s, c) => {
  // A plain client over the limit gets 429s.
  const raw = await Promise.all(Array.from({ length: 12 }, () => fetch(`${s.url}/api/v4/users`, { headers: { Authorization: `Bearer ${s.token}` } }).then((r) => r.status)));
  assert.ok(raw.filter((x) => x === 429).length >= 4, `429 above 7 in a second: ${raw.join(',')}`);
  await new Promise((r) => setTimeout(r, 1100));
  const started = s.received.length;
  const t0 = performance.now();
  const outcomes = await Promise.all(Array.from({ length: 28 }, (_, i) => c.call('GET /api/v4/users', {}, { priority: i })));
  const seconds = (performance.now() - t0) / 1000;
  const got = s.received.slice(started);
  const rejected = got.filter((r) => r.status === 429).length;
  // The first 7 go at once (the window is empty), the other 21 at the limit.
  console.log(`28 requests through the client in ${seconds.toFixed(2)} s: ${(21 / ((got[got.length - 1]!.atMs - got[0]!.atMs) / 1000)).toFixed(2)} req/s sustained against 7 (21 sent after the first 7, over the span); ${rejected} × 429`);
  // Arrival times are taken by the server in this same (loaded) process: its event-loop lag can bunch two
  // arrivals a few ms closer than they were sent. Without the limiter all 28 would arrive at once (21 × 429).
  assert.ok(rejected <= 1, `the client stays under the limit (${rejected} × 429)`);
  assert.ok(outcomes.filter((o) => o.kind === 'ok').length >= 27);
  let maxInWindow = 0;
  for (const r of got) maxInWindow = Math.max(maxInWindow, got.filter((x) => x.atMs > r.atMs - 1000 && x.atMs <= r.atMs).length);
  assert.ok(maxInWindow <= 8, `at most 7 in any second at the server, one of lag (${maxInWindow})`);
  assert.ok(seconds >= 2.9, `28 requests need at least 3 windows (${seconds.toFixed(2)} s)`);
}));

test('settings errors name the key', async () => {
  const s = await startLocalKommo();
  try {
    const bad = async (patch: object, re: RegExp) => assert.throws(() => createKommoClient({ ...(awaited), ...patch } as never, { logger: bufferLogger().logger }), re);
    const awaited = await kommoSettings(s);
    await bad({ base_url: 'https://www.kommo.com' }, /crm\.kommo\.base_url: .*common domain/);
    await bad({ base_url: 'http://example.kommo.com' }, /crm\.kommo\.base_url: must be an https/);
    await bad({ base_url: 'https://x.kommo.com/api/v4' }, /no path/);
    await bad({ long_lived_token: '' }, /crm\.kommo\.long_lived_token: empty/);
    await bad({ requests_per_second: 9 }, /crm\.kommo\.requests_per_second/);
  } finally {
    await s.close();
  }
});
