// Recordings through a real connector, for both CRMs, with a WAV written slowly by another process while the
// call's CEL rows are already in the table (as MixMonitor still flushes when the call ends):
// - Bitrix24: attachRecord once, after the write ended, with the whole file;
// - Kommo: converted to MP3 by the real encoder, POST /api/v4/calls carries a signed link the connector
//   serves; the file behind it is an MP3 of the recording's length;
// - a missing file: looked for until recordings.wait_seconds, then reported on the call, which is finished.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { startLocalBitrix24, demoSeed } from '../../core/demo-crm/bitrix24/index.js';
import { startLocalKommo, demoKommoSeed } from '../../core/demo-crm/kommo/index.js';
import type { CelRow } from '../../core/cel/row.js';
import { connectRoot, uniqueName } from '../fixtures/cel-sources/db.js';
import { FIXTURES, loadRows } from '../cel/assembler-kit.js';
import { createCelTable, liveSettings, startConnector, waitUntil } from './kit.js';
import { kommoLiveSettings, kommoSeedUsers } from './kommo-kit.js';
import { wavBytes, writeSlowly } from '../recordings/wav.js';

let root: mysql.Connection | undefined;
let skip: string | undefined;
const databases: string[] = [];
let dir = '';

before(async () => {
  const r = await connectRoot();
  if ('skip' in r) skip = r.skip;
  else root = r.conn;
  dir = mkdtempSync(path.join(tmpdir(), 'callhook-recordings-'));
});

after(async () => {
  if (root) {
    for (const db of databases) await root.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await root.end();
  }
  rmSync(dir, { recursive: true, force: true });
});

const RELATIVE = '2026/11/24/internal-201-200-20261124-100400-1795600400.16.wav';

/** The recorded MixMonitor call (200 → 201), its recording under `monitor`. */
function recordedCall(monitor: string): CelRow[] {
  return loadRows(path.join(FIXTURES, 'public', 'recording-mixmonitor-pjsip.jsonl'))
    .map((row, i) => ({ ...row, id: i + 1, appdata: row.appname === 'MixMonitor' ? row.appdata.replace('/var/spool/asterisk/monitor', monitor) : row.appdata }));
}

/** The same call as an inbound one: 200's channel becomes a trunk (PJSIP/provider-…) and its caller ID John Doe's. */
function inboundRecordedCall(monitor: string): CelRow[] {
  return recordedCall(monitor).map((row) => {
    const swap = (s: string): string => s.replaceAll('PJSIP/200-', 'PJSIP/provider-');
    const out = { ...row } as unknown as Record<string, string>;
    for (const f of ['channame', 'peer', 'appdata', 'extra'] as const) out[f] = swap(String(out[f] ?? ''));
    if (String(row.channame).startsWith('PJSIP/200-')) out.cid_num = '15551234';
    return out as unknown as CelRow;
  });
}

test('Bitrix24: the WAV still being written when the call ends is attached once, after the write ended, whole', { timeout: 180_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const monitor = path.join(dir, 'b24', 'monitor');
  const wav = path.join(monitor, RELATIVE);
  mkdirSync(path.dirname(wav), { recursive: true });
  const cel = uniqueName('rec_b24_cel');
  const state = uniqueName('rec_b24_state');
  databases.push(cel, state);
  await createCelTable(root!, cel, recordedCall(monitor));
  const crm = await startLocalBitrix24({ ...demoSeed(), limits: { requestsPerSecond: 50, burst: 100 } });
  const bytes = wavBytes(4);
  const writer = writeSlowly(wav, bytes, 16, 250);
  const file = liveSettings({ file: path.join(dir, 'b24.json'), celDatabase: cel, stateDatabase: state, webhookUrl: crm.webhookUrl, recordingsRoot: monitor, bitrix24: { register_local_calls: true, requests_per_second: 50, burst: 100 } });
  const settings = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...settings, recordings: { stable_ms: 500, retry_ms: 200, wait_seconds: 30 } }));
  const run = startConnector(file);
  try {
    const wroteAt = await writer.done;
    await waitUntil('the call reported', () => run.reports.length >= 1, 120_000, run.stderr);
    const attaches = crm.received.filter((r) => r.method === 'telephony.externalcall.attachrecord');
    const finish = crm.received.find((r) => r.method === 'telephony.externalcall.finish');
    const call = [...crm.state.calls.values()][0]!;
    console.log(`Bitrix24: writer finished at +0 ms, finish at ${(finish?.atMs ?? 0) - wroteAt} ms, attachRecord at ${(attaches[0]?.atMs ?? 0) - wroteAt} ms; ${call.records.length} record(s) of ${call.records[0]?.bytes} bytes (file ${bytes.length})`);
    assert.equal(attaches.length, 1, 'one attachRecord');
    assert.ok(finish !== undefined && finish.atMs <= attaches[0]!.atMs, 'attached after finish');
    assert.ok(attaches[0]!.atMs >= wroteAt, 'attached after the write ended');
    assert.deepEqual(call.records.map((r) => r.bytes), [bytes.length], 'the whole file');
    assert.equal(run.reports[0]!.status, 'done');
  } finally {
    await run.stop('SIGTERM');
    await crm.close();
  }
});

test('Kommo: the recording becomes an MP3 behind a signed link in POST /api/v4/calls; the link plays it', { timeout: 180_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const monitor = path.join(dir, 'kommo', 'monitor');
  const wav = path.join(monitor, RELATIVE);
  mkdirSync(path.dirname(wav), { recursive: true });
  const cel = uniqueName('rec_kommo_cel');
  const state = uniqueName('rec_kommo_state');
  databases.push(cel, state);
  await createCelTable(root!, cel, inboundRecordedCall(monitor));
  const kommo = await startLocalKommo({ seed: { users: kommoSeedUsers(), contacts: demoKommoSeed().contacts ?? [] } });
  const bytes = wavBytes(5);
  const writer = writeSlowly(wav, bytes, 10, 300);
  const file = kommoLiveSettings({
    file: path.join(dir, 'kommo.json'), celDatabase: cel, stateDatabase: state, kommo, recordingsRoot: monitor,
    calls: { trunk_channel_patterns: ['^PJSIP/provider-'] },
    recordings: { stable_ms: 500, retry_ms: 200, wait_seconds: 30, mp3: { folder: path.join(dir, 'kommo', 'mp3') } },
  });
  const run = startConnector(file);
  try {
    const wroteAt = await writer.done;
    await waitUntil('the call reported', () => run.reports.length >= 1, 120_000, run.stderr);
    assert.equal(kommo.state.calls.length, 1, run.stderr().slice(-2000));
    const call = kommo.state.calls[0]!;
    const post = kommo.received.find((r) => r.method === 'POST /api/v4/calls')!;
    const link = String(call.body.link ?? '');
    assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/recordings\/[\w-]+\.[\w-]+\//, 'a signed link to the connector');
    assert.ok(post.atMs >= wroteAt, 'sent after the write ended');
    const r = await fetch(link);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'audio/mpeg');
    const mp3 = path.join(dir, 'kommo', 'fetched.mp3');
    writeFileSync(mp3, Buffer.from(await r.arrayBuffer()));
    const kind = execFileSync('file', ['-b', mp3], { encoding: 'utf8' }).trim();
    const kbps = Number(/(\d+) kbps/.exec(kind)?.[1]);
    const seconds = (readFileSync(mp3).length * 8) / (kbps * 1000);
    console.log(`Kommo: /calls at +${post.atMs - wroteAt} ms after the write ended; link serves ${kind}, ${seconds.toFixed(2)} s (WAV 5.00 s)`);
    assert.match(kind, /MPEG ADTS, layer III/);
    assert.ok(Math.abs(seconds - 5) < 0.4, `MP3 length ${seconds.toFixed(2)} s`);
    const tampered = link.replace(/\.([\w-]{4})/, '.AAAA');
    assert.equal((await fetch(tampered)).status, 403, 'a changed link is refused');
    assert.deepEqual([call.entity_type, call.entity_id, call.body.call_status], ['leads', 1, 4]);
  } finally {
    await run.stop('SIGTERM');
    await kommo.close();
  }
});

test('a recording that never appears: reported on the call after recordings.wait_seconds, the call finished (Bitrix24) and logged without a link (Kommo)', { timeout: 180_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const monitor = path.join(dir, 'missing', 'monitor');
  mkdirSync(monitor, { recursive: true });
  const cel = uniqueName('rec_miss_cel');
  const cel2 = uniqueName('rec_miss2_cel');
  const state = uniqueName('rec_miss_state');
  const state2 = uniqueName('rec_miss2_state');
  databases.push(cel, state, cel2, state2);
  await createCelTable(root!, cel, recordedCall(monitor));
  await createCelTable(root!, cel2, inboundRecordedCall(monitor));
  const crm = await startLocalBitrix24({ ...demoSeed(), limits: { requestsPerSecond: 50, burst: 100 } });
  const kommo = await startLocalKommo({ seed: { users: kommoSeedUsers(), contacts: demoKommoSeed().contacts ?? [] } });
  const b24File = liveSettings({ file: path.join(dir, 'miss-b24.json'), celDatabase: cel, stateDatabase: state, webhookUrl: crm.webhookUrl, recordingsRoot: monitor, bitrix24: { register_local_calls: true, requests_per_second: 50, burst: 100 } });
  writeFileSync(b24File, JSON.stringify({ ...JSON.parse(readFileSync(b24File, 'utf8')), recordings: { stable_ms: 100, retry_ms: 300, wait_seconds: 2 } }));
  const kommoFile = kommoLiveSettings({ file: path.join(dir, 'miss-kommo.json'), celDatabase: cel2, stateDatabase: state2, kommo, recordingsRoot: monitor, calls: { trunk_channel_patterns: ['^PJSIP/provider-'] }, recordings: { stable_ms: 100, retry_ms: 300, wait_seconds: 2 } });
  const b24 = startConnector(b24File);
  const k = startConnector(kommoFile);
  try {
    await waitUntil('both calls reported', () => b24.reports.length >= 1 && k.reports.length >= 1, 120_000, () => `${b24.stderr().slice(-1000)} ${k.stderr().slice(-1000)}`);
    const b = b24.reports[0]!;
    const attach = b.actions.find((a) => a.key === 'attach');
    assert.equal(b.status, 'done');
    assert.equal(attach?.status, 'skipped');
    assert.match(JSON.stringify(attach?.outcome), /does not exist.*still after 2 s \(recordings\.wait_seconds\)/);
    assert.ok([...crm.state.calls.values()][0]?.finish !== null, 'the Bitrix24 call is finished');
    const kr = k.reports[0]!;
    assert.equal(kr.status, 'done');
    assert.equal(kr.actions.find((a) => a.key === 'recording')?.status, 'skipped');
    assert.equal(kommo.state.calls.length, 1, 'the Kommo call is logged');
    assert.equal(kommo.state.calls[0]!.body.link, undefined, 'without a link');
    console.log(`missing recording: Bitrix24 attach ${attach?.status} (${JSON.stringify(attach?.outcome).slice(0, 160)}); Kommo call logged without a link`);
  } finally {
    await b24.stop('SIGTERM');
    await k.stop('SIGTERM');
    await crm.close();
    await kommo.close();
  }
});
