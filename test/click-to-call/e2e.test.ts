// Click-to-call end to end, with every part real: a Bitrix24 ONEXTERNALCALLSTART event (form-encoded, as
// Bitrix24 posts it) → `callhook run`'s click-to-call endpoint → process_originate_params (a real hook in
// the sandbox) → Originate on the local AMI server (rewritten number and context, our ChannelId) → the
// recorded click-to-call's CEL rows, rewritten to carry that ChannelId, in a real MariaDB `cel` table →
// the pipeline → the local Bitrix24: the call the CRM registered when the user clicked is finished once on
// its CALL_ID, as an outgoing call of that user, and never registered by us. Also: the same with an older
// Bitrix24 that sends no CALL_ID (registered once by us, outgoing), a cancelled and a failed originate,
// Kommo's request, and the refusals (wrong application token, no token).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { startLocalBitrix24, demoSeed, formatSummary } from '../../core/demo-crm/bitrix24/index.js';
import type { CelRow } from '../../core/cel/row.js';
import { externalCallId } from '../../core/pipeline/index.js';
import { connectRoot, DB, insertRows, asStoredByFreepbx, uniqueName } from '../fixtures/cel-sources/db.js';
import { loadRows, RECORDED } from '../cel/assembler-kit.js';
import { createCelTable, liveSettings, startConnector, waitUntil } from '../pipeline/kit.js';
import { startTestAmiServer } from '../ami/server.js';
import { startLocalKommo, formatKommoSummary } from '../../core/demo-crm/kommo/index.js';
import { kommoUniq } from '../../core/pipeline/index.js';
import { kommoLiveSettings, kommoSeedUsers } from '../pipeline/kommo-kit.js';

let root: mysql.Connection | undefined;
let skip: string | undefined;
const databases: string[] = [];
let dir = '';

before(async () => {
  const r = await connectRoot();
  if ('skip' in r) skip = r.skip;
  else root = r.conn;
  dir = mkdtempSync(path.join(tmpdir(), 'callhook-ami-c2c-'));
});

after(async () => {
  if (root) {
    for (const db of databases) await root.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await root.end();
  }
  rmSync(dir, { recursive: true, force: true });
});

const APP_TOKEN = 'b24-app-token-0123456789abcdef';
const TOKEN = 'routing-token-0123456789abcdef';
const RECORDED_C2C = '1795500230.98';

// The CRM stores +49…; the PBX dials 0 + the last 9 digits, in the `internal` context; a number ending in 000 is never called.
const HOOK = `import { defineHook } from 'callhook';
export default defineHook('process_originate_params', (p) => {
  const digits = p.extension.replace(/\\D/g, '');
  if (digits.endsWith('000')) return null;
  return { ...p, extension: '0' + digits.slice(-9), context: 'internal' };
});
`;

/** The recorded click-to-call (Local/201 rung first, then 155512345 dialled) as if our Originate had set its ChannelId. */
function c2cRows(channelId: string, firstId: number, o: { calledLeg?: boolean } = {}): CelRow[] {
  const rows = loadRows(RECORDED).filter((r) => r.linkedid === RECORDED_C2C);
  // calledLeg: the employee is rung first on their mobile through the trunk (an FMC employee), showing the
  // client's number (click_to_call.originate.caller_id): from CEL alone, a call from the client coming in.
  const calledLeg = (r: CelRow): Partial<CelRow> => (o.calledLeg && r.uniqueid === RECORDED_C2C ? { cid_num: '49155512345', cid_ani: '49155512345', cid_name: '' } : {});
  const leg = (name: string): string => (o.calledLeg ? name.replace('Local/201@phones-', 'Local/79001112233@pstn-') : name);
  return rows.map((r, i) => ({
    ...r,
    ...calledLeg(r),
    channame: leg(r.channame),
    peer: leg(r.peer),
    id: firstId + i,
    uniqueid: r.uniqueid === RECORDED_C2C ? channelId : r.uniqueid.replace(/^1795500230\./, `${channelId.slice(-6)}.`),
    linkedid: channelId,
  }));
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

function event(data: Record<string, string>, applicationToken: string | null): string {
  const f: Record<string, string> = { event: 'ONEXTERNALCALLSTART', ts: String(Math.floor(Date.now() / 1000)) };
  for (const [k, v] of Object.entries(data)) f[`data[${k}]`] = v;
  if (applicationToken !== null) {
    f['auth[application_token]'] = applicationToken;
    f['auth[domain]'] = 'example.bitrix24.eu';
  }
  return form(f);
}

async function post(url: string, body: string, type = 'application/x-www-form-urlencoded', headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': type, ...headers } });
  const text = await res.text();
  return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

test('click-to-call: Bitrix24 event → hook → Originate with our ChannelId → CEL → finished on the CRM call id, registered by us never', { timeout: 180_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const conn = root!;
  const cel = uniqueName('ami_c2c_cel');
  const state = uniqueName('ami_c2c_state');
  databases.push(cel, state);
  const hooks = path.join(dir, 'hooks');
  mkdirSync(hooks, { recursive: true });
  writeFileSync(path.join(hooks, 'process_originate_params.ts'), HOOK);

  const seed = demoSeed();
  const crm = await startLocalBitrix24({ users: seed.users, contacts: seed.contacts });
  const ami = await startTestAmiServer({ callhook: { secret: 'ami-secret-1', originate: true } });
  // Carol's phone (202) is busy: the OriginateResponse fails with Reason 5.
  ami.plan = (o) => (o.fields.Channel === 'PJSIP/202' ? { afterMs: 50, ok: false, reason: 5 } : { afterMs: 30, ok: true, reason: 4 });
  try {
    await createCelTable(conn, cel, []);
    const file = liveSettings({
      file: path.join(dir, 'settings.json'), celDatabase: cel, stateDatabase: state, webhookUrl: crm.webhookUrl, hooksFolder: hooks,
      calls: { trunk_channel_patterns: ['^Local/[^@;]+@pstn(-in)?-'] },
      bitrix24: { default_user_id: 1 },
    });
    const settings = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    settings.ami = { host: '127.0.0.1', port: ami.port, username: 'callhook', secret: 'ami-secret-1', reconnect: { min_ms: 50, max_ms: 500 } };
    settings.click_to_call = { enabled: true, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN, bitrix24: { application_token: APP_TOKEN } };
    writeFileSync(file, JSON.stringify(settings, null, 2));

    const run = startConnector(file, { CALLHOOK_LOG_LEVEL: 'info' });
    try {
      let base = '';
      await waitUntil('the click-to-call endpoints listening', () => {
        const m = /click-to-call endpoints listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stderr());
        if (m) base = m[1]!;
        return base !== '';
      }, 30_000, () => run.stderr().slice(-2000));
      await waitUntil('AMI logged in', () => ami.logins.some((l) => l.ok), 10_000);
      assert.doesNotMatch(run.stderr(), /ami-secret-1|b24-app-token|routing-token/, 'no secret in the log');

      // What Bitrix24 does when Bob (user 2) clicks +49155512345: it registers the call itself (≥ 23.300.0), then posts the event.
      const clicked = await fetch(`${crm.webhookUrl}telephony.externalcall.register.json`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ USER_ID: 2, PHONE_NUMBER: '+49155512345', TYPE: 1, CRM_CREATE: 0, SHOW: 0 }),
      }).then((r) => r.json() as Promise<{ result: { CALL_ID: string } }>);
      const crmCallId = clicked.result.CALL_ID;
      const data = { PHONE_NUMBER: '+49155512345', PHONE_NUMBER_INTERNATIONAL: '+49155512345', USER_ID: '2', CALL_ID: crmCallId, CRM_ENTITY_TYPE: 'CONTACT', CRM_ENTITY_ID: '1', LINE_NUMBER: '' };

      // Refused: no application token, a wrong one; nothing is originated.
      assert.equal((await post(`${base}/click-to-call/bitrix24`, event(data, null))).status, 401);
      const wrong = await post(`${base}/click-to-call/bitrix24`, event(data, 'not-the-token'));
      assert.equal(wrong.status, 401);
      assert.equal(wrong.json.code, 'C2C_BAD_APPLICATION_TOKEN');
      assert.equal(ami.originates.length, 0, 'a refused request originates nothing');

      const ok = await post(`${base}/click-to-call/bitrix24`, event(data, APP_TOKEN));
      assert.equal(ok.status, 200, JSON.stringify(ok.json));
      assert.equal(ok.json.status, 'queued');
      const channelId = String(ok.json.channelId);
      assert.ok(channelId.length <= 32, `ChannelId fits FreePBX's varchar(32): ${channelId}`);
      const sent = ami.originates.find((o) => o.fields.ChannelId === channelId);
      assert.ok(sent, 'the AMI server received the Originate with our ChannelId');
      assert.equal(sent.fields.Channel, 'PJSIP/201', "Bob's phone rings first");
      assert.equal(sent.fields.Exten, '0155512345', 'the number as the hook rewrote it');
      assert.equal(sent.fields.Context, 'internal', 'the context the hook chose');
      assert.equal(sent.fields.Async, 'true');

      // The call happens: its CEL rows carry our ChannelId.
      await insertRows(conn, cel, 'cel', c2cRows(channelId, 1).map(asStoredByFreepbx));
      await waitUntil('the click-to-call reported', () => run.reports.some((r) => r.linkedid === channelId), 60_000, () => run.stderr().slice(-2000));
      await waitUntil('finished in the CRM', () => crm.state.calls.get(crmCallId)?.finish !== null, 20_000, () => formatSummary(crm.state));
      const call = crm.state.calls.get(crmCallId)!;
      assert.equal(crm.state.calls.size, 1, `no second call registered:\n${formatSummary(crm.state)}`);
      assert.equal(call.registerRepeats.length, 0, 'no register request reached the CRM from us');
      assert.equal(Number(call.finish?.USER_ID), 2, 'finished on Bob, who clicked');
      assert.equal(String(call.statistic?.CALL_FAILED_CODE), '200', 'answered');
      assert.ok(Number(call.finish?.DURATION) > 0, 'talk time');
      const report = run.reports.find((r) => r.linkedid === channelId)!;
      assert.equal(report.actions.filter((a) => a.key === 'register').length, 0, 'the outbox has no register');
      assert.equal(report.actions.filter((a) => a.method === 'telephony.externalcall.finish').length, 1, 'one finish');
      const notes = JSON.stringify(report.stages);
      assert.match(notes, /registered this call itself/);

      // An older Bitrix24 (before 23.300.0): the event has no CALL_ID; we register it once, outgoing, on Bob,
      // although its CEL rows alone read as an incoming call (the employee rung on their mobile through the trunk).
      const before = crm.state.calls.size;
      const old = await post(`${base}/click-to-call/bitrix24`, event({ ...data, CALL_ID: '' }, APP_TOKEN));
      assert.equal(old.json.status, 'queued', JSON.stringify(old.json));
      const oldId = String(old.json.channelId);
      await insertRows(conn, cel, 'cel', c2cRows(oldId, 1000, { calledLeg: true }).map(asStoredByFreepbx));
      await waitUntil('the old-style click-to-call reported', () => run.reports.some((r) => r.linkedid === oldId), 60_000, () => run.stderr().slice(-2000));
      const oldReport = run.reports.find((r) => r.linkedid === oldId)!;
      console.log(`# the old-style click-to-call's CEL alone reads as: ${JSON.stringify((oldReport.call_full as { channel: { type: string } }).channel.type)}`);
      const pbx = `${DB.host}:${DB.port}/${cel}.cel`;
      const ours = [...crm.state.calls.values()].filter((c) => c.EXTERNAL_CALL_ID === externalCallId(pbx, oldId));
      assert.equal(crm.state.calls.size, before + 1);
      assert.equal(ours.length, 1, 'registered once');
      assert.equal(ours[0]!.TYPE, 1, 'as an outgoing call');
      assert.equal(ours[0]!.USER_ID, 2, 'of the employee who clicked');
      assert.equal(ours[0]!.PHONE_NUMBER, '49155512345', "the client's number as the CRM sent it");
      assert.ok(ours[0]!.finish !== null, 'and finished');
      assert.equal(Number(ours[0]!.finish?.USER_ID), 2);

      // Cancelled by the hook: nothing originated, the CRM's call closed (603) so it does not hang open.
      const cancelCall = await fetch(`${crm.webhookUrl}telephony.externalcall.register.json`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ USER_ID: 2, PHONE_NUMBER: '+49155000', TYPE: 1 }),
      }).then((r) => r.json() as Promise<{ result: { CALL_ID: string } }>);
      const originatesBefore = ami.originates.length;
      const cancelled = await post(`${base}/click-to-call/bitrix24`, event({ ...data, PHONE_NUMBER: '+49155000', CALL_ID: cancelCall.result.CALL_ID }, APP_TOKEN));
      assert.equal(cancelled.json.status, 'cancelled');
      assert.equal(ami.originates.length, originatesBefore, 'no Originate for a cancelled call');
      assert.equal(String(crm.state.calls.get(cancelCall.result.CALL_ID)?.statistic?.CALL_FAILED_CODE), '603');

      // Failed: Carol (user 3, phone 202) is busy; the CRM's call is finished as busy (486) for her to see.
      const busyCall = await fetch(`${crm.webhookUrl}telephony.externalcall.register.json`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ USER_ID: 3, PHONE_NUMBER: '+49155512345', TYPE: 1 }),
      }).then((r) => r.json() as Promise<{ result: { CALL_ID: string } }>);
      const busy = await post(`${base}/click-to-call/bitrix24`, event({ ...data, USER_ID: '3', CALL_ID: busyCall.result.CALL_ID }, APP_TOKEN));
      assert.equal(busy.json.status, 'queued');
      assert.equal(ami.originates.at(-1)?.fields.Channel, 'PJSIP/202');
      await waitUntil('the busy call finished in the CRM', () => (crm.state.calls.get(busyCall.result.CALL_ID)?.finish ?? null) !== null, 10_000);
      assert.equal(String(crm.state.calls.get(busyCall.result.CALL_ID)?.statistic?.CALL_FAILED_CODE), '486');

      // Kommo's request: token required; the hook rewrites the number the same way.
      const kommoUrl = `${base}/click-to-call/kommo`;
      assert.equal((await post(kommoUrl, JSON.stringify({ phone: '+49155512345', extension: '201' }), 'application/json')).status, 401);
      assert.equal((await post(kommoUrl, JSON.stringify({ phone: '+49155512345', extension: '201' }), 'application/json', { 'x-callhook-token': 'wrong' })).status, 401);
      const kommo = await post(kommoUrl, JSON.stringify({ phone: '+49155512345', extension: '201' }), 'application/json', { 'x-callhook-token': TOKEN });
      assert.equal(kommo.json.status, 'queued', JSON.stringify(kommo.json));
      const k = ami.originates.find((o) => o.fields.ChannelId === kommo.json.channelId);
      assert.equal(k?.fields.Exten, '0155512345');
      assert.equal(k?.fields.Channel, 'PJSIP/201');
    } finally {
      const exit = await run.stop('SIGTERM');
      assert.equal(exit.code, 0, `callhook run exits cleanly: ${run.stderr().slice(-2000)}`);
    }
  } finally {
    await ami.close();
    await crm.close();
  }
});

test('click-to-call for Kommo: request → hook → Originate with our ChannelId → CEL → one outgoing call logged on the user who clicked', { timeout: 180_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const conn = root!;
  const cel = uniqueName('ami_c2ck_cel');
  const state = uniqueName('ami_c2ck_state');
  databases.push(cel, state);
  const hooks = path.join(dir, 'hooks-kommo');
  mkdirSync(hooks, { recursive: true });
  writeFileSync(path.join(hooks, 'process_originate_params.ts'), HOOK);
  const kommo = await startLocalKommo({ seed: { users: kommoSeedUsers(), contacts: [] } });
  const ami = await startTestAmiServer({ callhook: { secret: 'ami-secret-2', originate: true } });
  ami.plan = () => ({ afterMs: 30, ok: true, reason: 4 });
  try {
    await createCelTable(conn, cel, []);
    const file = kommoLiveSettings({
      file: path.join(dir, 'kommo-settings.json'), celDatabase: cel, stateDatabase: state, kommo, hooksFolder: hooks,
      calls: { trunk_channel_patterns: ['^Local/[^@;]+@pstn(-in)?-'] },
      settings: { unknown_number: { incoming: 'unsorted', outgoing: 'contact' } },
    });
    const settings = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    settings.ami = { host: '127.0.0.1', port: ami.port, username: 'callhook', secret: 'ami-secret-2', reconnect: { min_ms: 50, max_ms: 500 } };
    settings.click_to_call = { enabled: true, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN };
    writeFileSync(file, JSON.stringify(settings, null, 2));
    const run = startConnector(file, { CALLHOOK_LOG_LEVEL: 'info' });
    try {
      let base = '';
      await waitUntil('the click-to-call endpoints listening', () => {
        const m = /click-to-call endpoints listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stderr());
        if (m) base = m[1]!;
        return base !== '';
      }, 30_000, () => run.stderr().slice(-2000));
      await waitUntil('AMI logged in', () => ami.logins.some((l) => l.ok), 10_000);
      // Kommo user 7 clicks +49155512345; their phone is extension 201 (its CEL rows: Local/201 rung first).
      const clicked = await post(`${base}/click-to-call/kommo`, JSON.stringify({ phone: '+49155512345', user_id: 7, extension: '201' }), 'application/json', { 'x-callhook-token': TOKEN });
      assert.equal(clicked.json.status, 'queued', JSON.stringify(clicked.json));
      const channelId = String(clicked.json.channelId);
      const sent = ami.originates.find((o) => o.fields.ChannelId === channelId);
      assert.equal(sent?.fields.Exten, '0155512345', 'the number as the hook rewrote it');

      // Its CEL rows, read as incoming from CEL alone (the employee rung through the trunk first).
      await insertRows(conn, cel, 'cel', c2cRows(channelId, 1, { calledLeg: true }).map(asStoredByFreepbx));
      await waitUntil('the click-to-call reported', () => run.reports.some((r) => r.linkedid === channelId), 60_000, () => run.stderr().slice(-2000));
      const pbx = `${DB.host}:${DB.port}/${cel}.cel`;
      const logged = kommo.state.calls.filter((c) => c.body.uniq === kommoUniq(pbx, channelId));
      assert.equal(logged.length, 1, `logged once:\n${formatKommoSummary(kommo.state)}`);
      assert.equal(logged[0]!.body.direction, 'outbound', 'an outgoing call');
      assert.equal(Number(logged[0]!.body.responsible_user_id), 7, 'of the Kommo user who clicked');
      assert.equal(kommo.state.calls.length, 1, 'nothing else logged');
    } finally {
      const exit = await run.stop('SIGTERM');
      assert.equal(exit.code, 0, `callhook run exits cleanly: ${run.stderr().slice(-2000)}`);
    }
  } finally {
    await ami.close();
    await kommo.close();
  }
});
