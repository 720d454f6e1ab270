// What-if against the calls the real connector recorded: a changed blacklist shows exactly the calls whose
// need_registration decision flips, an unchanged copy shows none, a broken one says where it breaks; the
// same through POST /whatif and `callhook whatif`. Nothing reaches the CRM: the outbox is unchanged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { runWhatIf, whatIfFromSettings, type WhatIfResult } from '../../core/whatif/index.js';
import type { CallReport } from '../../core/pipeline/index.js';
import { readCallReport } from '../../core/pipeline/index.js';
import { CALLHOOK, recordDemoCalls, startTestServer, TOKEN, type Recorded, type TestServer } from './kit.js';

let rec: Recorded;
let srv: TestServer;
const NAME = 'need_registration.blacklist.ts';
let live: string;
let stricter: string;

before(async () => {
  rec = await recordDemoCalls();
  srv = await startTestServer(rec, { jobs: (store, _host, pbx) => ({ whatIf: (request, signal) => whatIfFromSettings(rec.settings, { store, pbx }, request, { logger: pino({ level: 'silent' }), signal }) }) });
  live = readFileSync(path.join(rec.hooksDir, NAME), 'utf8');
  stricter = live.replace("new Set(['204'])", "new Set(['204', '202'])");
  assert.notEqual(stricter, live);
});
after(async () => {
  await srv?.close();
  rec?.cleanup();
});

/** Whether 202's phone rang in the call (what the stricter blacklist looks at). */
function rang202(report: CallReport): boolean {
  const c = report.call_full as { channel: { from: { original: string }; to: { original: string } }; conversations: Record<string, { channel: { to: { original: string } } }> };
  return [c.channel.from.original, c.channel.to.original, ...Object.values(c.conversations).map((v) => v.channel.to.original)].includes('202');
}

test('a stricter blacklist: the differences are the registered calls 202 took part in, live true → false', async () => {
  const actionsBefore = JSON.stringify((await srv.store.outboxByPortal(srv.pbx)));
  const result = await runWhatIf({ settings: rec.settings, store: srv.store, pbx: srv.pbx, name: NAME, source: stricter, selection: {}, logger: pino({ level: 'silent' }) });
  assert.equal(result.loadError, null);
  assert.equal(result.point, 'need_registration');
  assert.equal(result.calls, 11);
  assert.ok(result.decisions >= 11, `every call's need_registration decisions (${result.decisions})`);
  const changed = new Set(result.differences.map((d) => d.linkedid));
  const expected = new Set<string>();
  for (const c of await srv.store.listCalls(srv.pbx)) {
    const report = await readCallReport(srv.store, srv.pbx, c.linkedid);
    if (report !== null && rang202(report) && report.stages.some((s) => s.registered)) expected.add(c.linkedid);
  }
  assert.ok(expected.size > 0, 'the demo has registered calls with 202');
  assert.deepEqual([...changed].sort(), [...expected].sort());
  for (const d of result.differences) {
    assert.equal(d.live.value, true);
    assert.equal(d.candidate.value, false);
    assert.ok(d.candidate.hooks.some((h) => h.hook === NAME && h.output === false), 'the candidate\'s own answer is shown');
  }
  assert.equal(JSON.stringify(await srv.store.outboxByPortal(srv.pbx)), actionsBefore, 'the outbox is untouched');
});

test('the live source unchanged: no differences; a broken candidate: its error with file:line, nothing run', async () => {
  const same = await runWhatIf({ settings: rec.settings, store: srv.store, pbx: srv.pbx, name: NAME, source: live, selection: {}, logger: pino({ level: 'silent' }) });
  assert.equal(same.differences.length, 0);
  assert.ok(same.decisions >= 11);
  const broken = await runWhatIf({ settings: rec.settings, store: srv.store, pbx: srv.pbx, name: NAME, source: `${live}\nconst x: number = 'no';\n`, selection: {}, logger: pino({ level: 'silent' }) });
  assert.match(broken.loadError ?? '', /need_registration\.blacklist\.ts:\d+:\d+ HOOK_TYPE/);
  assert.equal(broken.decisions, 0);
});

test('POST /whatif with a pasted source and a selection of calls', async () => {
  const ids = (await srv.store.listCalls(srv.pbx)).map((c) => c.linkedid);
  const res = await fetch(`${srv.url}/whatif`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: NAME, source: stricter, ids: ids.slice(0, 3) }) });
  assert.equal(res.status, 200);
  const body = await res.json() as WhatIfResult;
  assert.equal(body.calls, 3);
  assert.ok(body.decisions >= 3, `the selected calls' decisions were run (${body.decisions})`);
  const bad = await fetch(`${srv.url}/whatif`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: '../etc/passwd', source: 'x' }) });
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { code: string }).code, 'WHATIF_BAD_NAME');
});

test('callhook whatif <file> prints the differing calls', async () => {
  const candidate = path.join(rec.dir, NAME);
  writeFileSync(candidate, stricter);
  const { stdout } = await promisify(execFile)(process.execPath, [CALLHOOK, 'whatif', candidate, '--settings', rec.settingsFile], { env: { ...process.env, CALLHOOK_LOG_LEVEL: 'error' } });
  const summary = /need_registration\.blacklist\.ts at need_registration: 11 calls, (\d+) recorded decisions run again, (\d+) differ/.exec(stdout);
  assert.ok(summary, stdout);
  assert.ok(Number(summary[2]) > 0);
  assert.match(stdout, /need_registration: live true → with need_registration\.blacklist\.ts false/);
});
