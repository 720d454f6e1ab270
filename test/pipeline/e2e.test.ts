// End to end: CEL rows of every scenario of the recorded and the public corpora in a real MariaDB `cel`
// table → `callhook run` (live, process isolation, hooks) → the local Bitrix24 server. Asserts what the CRM
// received per call: registration (user, type, number, line, entity), cards, finish (status, user,
// duration), recording, and that hooks changed the requests (a rewritten number is the one registered; a
// cancelled registration sends nothing).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { startLocalBitrix24, demoSeed, formatSummary, type LocalBitrix24, type LocalCall } from '../../core/demo-crm/bitrix24/index.js';
import { externalCallId } from '../../core/pipeline/index.js';
import type { CelRow } from '../../core/cel/row.js';
import { connectRoot, DB, uniqueName } from '../fixtures/cel-sources/db.js';
import { loadRows, FIXTURES, RECORDED } from '../cel/assembler-kit.js';
import { createCelTable, liveSettings, startConnector, waitUntil } from './kit.js';

let root: mysql.Connection | undefined;
let skip: string | undefined;
const databases: string[] = [];
let dir = '';

before(async () => {
  const r = await connectRoot();
  if ('skip' in r) skip = r.skip;
  else root = r.conn;
  dir = mkdtempSync(path.join(tmpdir(), 'callhook-e2e-'));
});

after(async () => {
  if (root) {
    for (const db of databases) await root.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await root.end();
  }
  rmSync(dir, { recursive: true, force: true });
});

const PUBLIC = ['w1-sip-answered-internal', 'w2-pjsip-answered-with-extra', 'w3-pjsip-queue', 'cancel-pjsip', 'inbound-trunk-pjsip', 'outbound-trunk-pjsip', 'ivr-hangup-pjsip', 'recording-mixmonitor-pjsip', 'queue-freepbx-local-members'];

/** What the CRM must have for a call: from the scenario (truth file / expect.json), not from a run. */
interface Expected {
  user: number;
  type: 1 | 2;
  number: string;
  line?: string;
  entity?: string;
  shown?: number[];
  hidden?: number[];
  status: string;
  finishedBy: number;
  talk: 'some' | 0;
  record?: string;
}

// Users: the demo seed (200 Alice=1, 201 Bob=2, 202 Carol=3, 203 Dave=4, 204 Erin=5, 211 Frank=6, 212 Grace=7)
// plus the public corpora's extensions. Contact 1 (John Doe, 15551234) belongs to Bob (2).
const EXTRA_USERS = [[8, '1001'], [9, '1045'], [10, '1603'], [11, '1101'], [12, '1102']] as const;

const EXPECTED: Record<string, Expected | 'nothing'> = {
  // Recorded on Asterisk 22 (cel-asterisk22-local.truth.json). Internal calls are registered on their caller
  // with the called number (crm.bitrix24.register_local_calls is on here).
  '1795500122.54': { user: 1, type: 1, number: '201', status: '200', finishedBy: 1, talk: 'some' }, // 200 → 201 answered
  '1795500129.58': { user: 1, type: 1, number: '204', status: '480', finishedBy: 1, talk: 0 }, // no answer
  '1795500142.62': { user: 1, type: 1, number: '203', status: '486', finishedBy: 1, talk: 0 }, // busy
  // inbound to 201, blind transfer to 202: registered on 201, card to both, finished on 202 who talked last
  '1795500158.66': { user: 2, type: 2, number: '15551234', line: 'pstn-in', entity: 'CONTACT 1', shown: [2, 3], status: '200', finishedBy: 3, talk: 'some' },
  '1795500170.72': { user: 2, type: 2, number: '15551234', line: 'pstn-in', entity: 'CONTACT 1', shown: [2, 3], status: '200', finishedBy: 3, talk: 'some' }, // attended
  '1795500185.80': { user: 2, type: 2, number: '15551234', line: 'pstn-in', entity: 'CONTACT 1', status: '200', finishedBy: 3, talk: 'some' }, // parked, retrieved by 202
  // queue 600: 211 and 212 ring, 212 answers: registered on 211, card to both, hidden for 211, finished on 212
  '1795500212.86': { user: 6, type: 2, number: '15551234', line: 'pstn-in', entity: 'CONTACT 1', shown: [6, 7], hidden: [6], status: '200', finishedBy: 7, talk: 'some' },
  // internal ring group 800: registered with the first extension that rang (800 is no employee's number,
  // Bitrix24 would take it for a client's)
  '1795500221.92': { user: 1, type: 1, number: '211', status: '200', finishedBy: 1, talk: 'some' },
  '1795500230.98': { user: 2, type: 1, number: '155512345', line: 'pstn', status: '200', finishedBy: 2, talk: 'some' }, // click-to-call, outgoing
  '1795500240.102': { user: 1, type: 1, number: '204', status: '200', finishedBy: 1, talk: 'some' }, // 202 picked up 204's ringing
  '1795500326.108': { user: 1, type: 1, number: '900', status: '603-S', finishedBy: 1, talk: 0 }, // user-defined event, hung up
  // Public sequences (test/fixtures/cel/public/expect.json).
  '1434650936.31': { user: 9, type: 1, number: '1001', status: '200', finishedBy: 9, talk: 'some' },
  '1658410288.0': { user: 10, type: 1, number: '91800', status: '200', finishedBy: 10, talk: 'some' },
  '1612971551.59': { user: 8, type: 1, number: '3000', status: '200', finishedBy: 8, talk: 'some' },
  '1795600000.1': { user: 1, type: 1, number: '201', status: '603-S', finishedBy: 1, talk: 0 },
  // +15551234: the test's process_client_phone hook strips the '+': the rewritten number is registered
  '1795600100.10': { user: 2, type: 2, number: '15551234', line: 'provider', entity: 'CONTACT 1', status: '200', finishedBy: 2, talk: 'some' },
  // the test's process_registration_params hook cancels this one: nothing reaches the CRM
  '1795600200.12': 'nothing',
  // IVR only, missed: no employee → the default user (1); unknown number → a lead; 304 = missed
  '1795600300.14': { user: 1, type: 2, number: '15559876', entity: 'LEAD', status: '304', finishedBy: 1, talk: 0 },
  '1795600400.16': { user: 1, type: 1, number: '201', status: '200', finishedBy: 1, talk: 'some', record: 'internal-201-200-20261124-100400-1795600400.16.wav' },
  // FreePBX queue with Local members: 201 rang (missed), 202 answered
  '1795600500.20': { user: 2, type: 2, number: '15551234', line: 'provider', entity: 'CONTACT 1', shown: [2, 3], hidden: [2], status: '200', finishedBy: 3, talk: 'some' },
};

const HOOKS = {
  'process_client_phone.ts': `import { defineHook } from 'callhook';
// Our CRM stores numbers without "+1" country formatting quirks: strip a leading '+' from known US DIDs.
export default defineHook('process_client_phone', ({ number }) => number.original === '+15551234' ? '15551234' : (number.custom || number.original));
`,
  'process_registration_params.ts': `import { defineHook } from 'callhook';
// Calls to Germany are handled by another team's CRM: never registered here.
export default defineHook('process_registration_params', ({ params }) => String(params.PHONE_NUMBER).startsWith('0049') ? null : params);
`,
};

function allRows(recordingsRoot: string): CelRow[] {
  const rows: CelRow[] = [...loadRows(RECORDED)];
  for (const name of PUBLIC) {
    for (const row of loadRows(path.join(FIXTURES, 'public', `${name}.jsonl`))) {
      // The recording lives under this test's recordings root.
      const appdata = row.appname === 'MixMonitor' ? row.appdata.replace('/var/spool/asterisk/monitor', recordingsRoot) : row.appdata;
      rows.push({ ...row, appdata });
    }
  }
  // One table: ids in file order, as the PBX would have written them.
  return rows.map((row, i) => ({ ...row, id: i + 1 }));
}

function byExternalId(crm: LocalBitrix24): Map<string, LocalCall[]> {
  const map = new Map<string, LocalCall[]>();
  for (const call of crm.state.calls.values()) {
    const list = map.get(call.EXTERNAL_CALL_ID ?? '') ?? [];
    list.push(call);
    map.set(call.EXTERNAL_CALL_ID ?? '', list);
  }
  return map;
}

test('every corpus scenario, CEL table → callhook run → Bitrix24: what the CRM received, call by call', { timeout: 240_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const conn = root!;
  const cel = uniqueName('e2e_cel');
  const state = uniqueName('e2e_state');
  databases.push(cel, state);
  const recordings = path.join(dir, 'monitor');
  const wav = path.join(recordings, '2026/11/24/internal-201-200-20261124-100400-1795600400.16.wav');
  mkdirSync(path.dirname(wav), { recursive: true });
  writeFileSync(wav, Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(2044, 7)]));
  const hooks = path.join(dir, 'hooks');
  mkdirSync(hooks);
  for (const [name, source] of Object.entries(HOOKS)) writeFileSync(path.join(hooks, name), source);

  const seed = demoSeed();
  const crm = await startLocalBitrix24({
    users: [...seed.users, ...EXTRA_USERS.map(([ID, UF_PHONE_INNER]) => ({ ID, NAME: `User${ID}`, LAST_NAME: 'Test', UF_PHONE_INNER }))],
    contacts: seed.contacts,
    limits: { requestsPerSecond: 50, burst: 100 },
  });
  try {
    await createCelTable(conn, cel, allRows(recordings));
    const settings = liveSettings({
      file: path.join(dir, 'settings.json'), celDatabase: cel, stateDatabase: state, webhookUrl: crm.webhookUrl, hooksFolder: hooks, recordingsRoot: recordings,
      calls: { trunk_channel_patterns: ['^Local/[^@;]+@pstn(-in)?-', '^DAHDI/', '^PJSIP/provider-'] },
      bitrix24: { register_local_calls: true, default_user_id: 1, requests_per_second: 50, burst: 100 },
    });
    const run = startConnector(settings);
    const expectedCalls = Object.entries(EXPECTED).filter(([, e]) => e !== 'nothing').length;
    try {
      await waitUntil(`${Object.keys(EXPECTED).length} calls reported`, () => run.reports.length >= Object.keys(EXPECTED).length, 180_000, () => `${run.reports.length} so far; ${run.stderr().slice(-2000)}`);
      await waitUntil('every call finished in the CRM', () => [...crm.state.calls.values()].filter((c) => c.finish !== null).length >= expectedCalls, 30_000, () => formatSummary(crm.state));
    } finally {
      const exit = await run.stop('SIGTERM');
      assert.equal(exit.code, 0, `callhook run exits cleanly on SIGTERM: ${run.stderr().slice(-2000)}`);
    }
    const pbx = `${DB.host}:${DB.port}/${cel}.cel`;
    const calls = byExternalId(crm);
    const summary = formatSummary(crm.state);
    assert.equal(crm.state.calls.size, expectedCalls, `one CRM call per delivered call:\n${summary}`);
    for (const [linkedid, e] of Object.entries(EXPECTED)) {
      const got = calls.get(externalCallId(pbx, linkedid)) ?? [];
      const report = run.reports.find((r) => r.linkedid === linkedid);
      assert.ok(report, `${linkedid} reported`);
      if (e === 'nothing') {
        assert.equal(got.length, 0, `${linkedid}: a cancelled registration sends nothing`);
        assert.ok(report.actions.some((a) => a.key === 'register' && a.status === 'cancelled'), `${linkedid}: the outbox says it was cancelled by customization`);
        assert.ok(!report.actions.some((a) => a.key === 'finish'), `${linkedid}: nothing to finish`);
        continue;
      }
      assert.equal(got.length, 1, `${linkedid}: registered exactly once:\n${summary}`);
      const call = got[0] as LocalCall;
      const where = `${linkedid} (${call.CALL_ID})`;
      assert.equal(call.registerRepeats.length, 0, `${where}: one register request`);
      assert.equal(call.USER_ID, e.user, `${where}: registered on user ${e.user}`);
      assert.equal(call.TYPE, e.type, `${where}: TYPE`);
      assert.equal(call.PHONE_NUMBER, e.number, `${where}: PHONE_NUMBER`);
      if (e.line !== undefined) assert.equal(call.LINE_NUMBER, e.line, `${where}: LINE_NUMBER`);
      assert.match(String(call.register.CALL_START_DATE), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/, `${where}: CALL_START_DATE with an explicit offset`);
      if (e.entity === undefined) assert.equal(call.entity?.type === 'CONTACT' || call.entity?.type === 'COMPANY', false, `${where}: no client entity`);
      else assert.ok(`${call.entity?.type} ${call.entity?.id}`.startsWith(e.entity), `${where}: bound to ${e.entity}, got ${JSON.stringify(call.entity)}`);
      const shown = [...new Set(call.shown.flatMap((s) => s.userIds))].sort((a, b) => a - b);
      if (e.shown !== undefined) assert.deepEqual(shown, e.shown, `${where}: card shown to`);
      const hiddenByHide = [...new Set(call.hidden.filter((h) => h.by === 'hide').flatMap((h) => h.userIds))];
      for (const id of e.hidden ?? []) assert.ok(hiddenByHide.includes(id), `${where}: card hidden for ${id} (${JSON.stringify(call.hidden)})`);
      assert.ok(call.finish !== null && call.statistic !== null, `${where}: finished`);
      assert.equal(String(call.statistic?.CALL_FAILED_CODE), e.status, `${where}: STATUS_CODE`);
      assert.equal(Number(call.finish?.USER_ID), e.finishedBy, `${where}: finished on user ${e.finishedBy}`);
      const duration = Number(call.finish?.DURATION);
      if (e.talk === 0) assert.equal(duration, 0, `${where}: no talk time`);
      else assert.ok(duration > 0, `${where}: talk time > 0`);
      if (e.record !== undefined) {
        assert.deepEqual(call.records.map((r) => [r.filename, r.bytes]), [[e.record, readFileSync(wav).length]], `${where}: the recording is attached once, after finish`);
      } else assert.equal(call.records.length, 0, `${where}: no recording`);
      // The call_full the hooks saw last carries what the CRM answered.
      const full = report.call_full as { registration: { id: string } | null };
      assert.equal(full.registration?.id, call.CALL_ID, `${where}: call_full.registration comes from the answer`);
    }
    // The rewrite hook's effect is visible in the trace too: the registered number is the hook's output.
    const inbound = run.reports.find((r) => r.linkedid === '1795600100.10');
    const register = inbound?.actions.find((a) => a.key === 'register');
    assert.equal((register?.params as { PHONE_NUMBER?: string }).PHONE_NUMBER, '15551234');
  } finally {
    await crm.close();
  }
});
