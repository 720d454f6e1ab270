// `callhook run` on its embedded demo defaults and on a settings file: every call of the CEL sample is
// reported once, with what each hook decided at each stage; broken hooks and bad settings are reported
// by file and line, and never stop the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { assembleAll } from '../../core/cel/assembler/index.js';
import { DEFAULT_NUMBER_SETTINGS, createNumberModel } from '../../core/numbers/index.js';
import { validateCallFull } from '../../core/contract/validate.js';
import type { CallReport } from '../../core/pipeline/index.js';
import { loadRows } from '../cel/assembler-kit.js';

const DEMO = path.resolve('examples/cel/demo.jsonl');
const HEADER = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}(local|incoming|outgoing|unknown) {2}.+ → .+ {2}answered by .+ {2}result \d{3}.* {2}\[(.+)\]$/;

function callhook(args: string[], cwd = process.cwd()): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.resolve('bin/callhook.js'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, CALLHOOK_LOG_LEVEL: 'warn' }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The demo sample assembled without hooks: what the run must report, call for call. */
function expectedDemo(): { linkedids: string[]; stages: number } {
  const numbers = createNumberModel({ ...DEFAULT_NUMBER_SETTINGS, prefixes: [...DEFAULT_NUMBER_SETTINGS.prefixes] });
  const { calls, stages } = assembleAll(loadRows(DEMO), { calls: {}, numbers });
  numbers.close();
  return { linkedids: calls.map((c) => c.linkedid), stages: stages.length };
}

test('`callhook run` with no settings replays the bundled sample through the example hooks into the demo CRM and shows what it received', () => {
  const r = callhook(['run'], tmpdir()); // from any directory: the demo defaults resolve against the package
  assert.equal(r.status, 0, r.stderr);
  const expected = expectedDemo();
  const headers = r.stdout.split('\n').map((l) => HEADER.exec(l)).filter((m) => m !== null);
  assert.deepEqual(headers.map((m) => m[2]).sort(), [...expected.linkedids].sort(), 'each call once');
  assert.match(r.stdout, new RegExp(`^${expected.linkedids.length} calls, ${expected.stages} stages, 300 CEL rows; 6 hooks$`, 'm'));
  assert.match(r.stdout, /^CRM demo Bitrix24 at http:\/\/127\.0\.0\.1:\d+ \(local, started by callhook: nothing reaches a real CRM\); store sqlite /m);
  for (const hook of ['need_registration.blacklist.ts', 'need_registration.whitelist.ts', 'process_client_phone.ts', 'process_record_file_path.ts', 'post_registration.ts']) {
    assert.match(r.stdout, new RegExp(`^  \\S+  ${hook.replace(/\./g, '\\.')}  file  active$`, 'm'), `${hook} is listed as active`);
  }
  // Click-to-call is not part of the CRM delivery pipeline: its hook is loaded, and marked as idle here.
  assert.match(r.stdout, /^ {2}process_originate_params {2}process_originate_params\.ts {2}file {2}active {2}\(this pipeline never runs this point\)$/m);
  // The example blacklist blocks extension 204: that call's stages stop at need_registration, nothing is sent.
  const blocks = r.stdout.split('\n\n');
  const blocked = blocks.find((block) => / → 204 {2}.*result 480/.test(block));
  assert.ok(blocked, 'the demo has a missed call to 204');
  assert.match(blocked, /conversation_requested 204 \(row \d+\): need_registration said no/);
  assert.match(blocked, /need_registration\.blacklist\.ts → false/);
  assert.doesNotMatch(blocked, /process_client_phone|→ telephony/, 'nothing runs after a "no"');
  // A registered incoming call: the entity search, the registration, the cards, the finish, in that order.
  const incoming = blocks.find((block) => block.includes('[1795500158.66]'));
  assert.ok(incoming);
  const order = ['→ crm.duplicate.findbycomm', '→ telephony.externalcall.register', '→ telephony.externalcall.show', '→ telephony.externalcall.finish', 'post_registration.ts → null'];
  const at = order.map((needle) => incoming.indexOf(needle));
  assert.ok(at.every((i) => i >= 0), `every step is in the trace: ${JSON.stringify(at)}`);
  assert.deepEqual([...at].sort((a, b) => a - b), at, 'in the reference order');
  // What the demo CRM received: the five customer calls, each registered once and finished; internal calls are not sent.
  const received = r.stdout.slice(r.stdout.indexOf('What the demo CRM received:'));
  const lines = received.split('\n').filter((l) => l.startsWith('callhook-'));
  assert.equal(lines.length, 5, received);
  for (const line of lines) assert.match(line, /registered on user \d+, (incoming|outgoing) \d+ via line .+; finished 200 by user \d+, \d+ s/);
  assert.match(received, /1795500158\.66: registered on user 2, incoming 15551234 via line pstn-in; CONTACT 1; card shown to 2,3; finished 200 by user 3/, 'blind transfer 201 → 202: finished on who talked last');
});

test('`callhook run --json` writes one valid call_full per call (filled from the CRM) with every stage trace and its outbox entries', () => {
  const r = callhook(['run', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const reports = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as CallReport);
  assert.deepEqual(reports.map((x) => x.linkedid).sort(), [...expectedDemo().linkedids].sort());
  for (const report of reports) {
    assert.deepEqual(validateCallFull(report.call_full), [], report.linkedid);
    assert.equal(report.stages.filter((s) => s.stage === 'call_ended').length, 1, 'one call_ended per call');
    assert.equal(report.stages.at(-1)?.stage, 'call_ended', 'and it comes last');
    for (const stage of report.stages) {
      const first = stage.steps[0];
      assert.ok(first?.kind === 'hook' && first.point === 'need_registration', 'need_registration decides first');
      assert.equal(stage.registered, first.value === true);
      if (!stage.registered) assert.ok(stage.steps.slice(1).every((s) => s.kind === 'note'), 'a "no" stops the stage');
      for (const step of stage.steps) if (step.kind === 'hook') assert.equal(step.trace.callId, report.linkedid);
    }
    const call = report.call_full as { registration: { id: string } | null; entity: { id: string } | null };
    if (report.summary?.registered) {
      assert.deepEqual(report.actions.filter((a) => a.key === 'register' || a.key === 'finish').map((a) => [a.key, a.status, a.attempts]), [['register', 'done', 1], ['finish', 'done', 1]]);
      assert.ok(call.registration !== null && call.registration.id.startsWith('externalCall.'), 'registration comes from the CRM answer');
    } else {
      assert.deepEqual(report.actions, [], `${report.linkedid}: nothing sent`);
      assert.equal(call.registration, null);
    }
  }
  const transfer = reports.find((x) => x.linkedid === '1795500158.66');
  assert.equal((transfer?.call_full as { entity: { id: string; type: string } }).entity.type, 'contact', 'the entity found by number is in call_full');
  assert.match(r.stderr, /calls, \d+ stages, 300 CEL rows/);
});

test('a hook that throws or loops is reported with its file:line and the default, and every call is still reported', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callhook-run-'));
  try {
    mkdirSync(path.join(dir, 'hooks'));
    writeFileSync(path.join(dir, 'hooks', 'need_registration.ts'), `import { defineHook } from 'callhook';
export default defineHook('need_registration', ({ call_full }) => {
  if (call_full.channel.to.original === '201') throw new Error('no lists today');
  return true;
});
`);
    writeFileSync(path.join(dir, 'hooks', 'process_client_phone.ts'), `import { defineHook } from 'callhook';
export default defineHook('process_client_phone', ({ number }) => {
  for (;;) {}
  return number.original;
});
`);
    writeFileSync(path.join(dir, 'settings.json'), JSON.stringify({ cel: { replay: { path: DEMO } }, hooks: { folder: 'hooks' }, sandbox: { isolation: 'process' } }, null, 2));
    const r = callhook(['run', '--settings', 'settings.json'], dir);
    assert.equal(r.status, 0, r.stderr);
    const expected = expectedDemo();
    assert.equal(r.stdout.split('\n').filter((l) => HEADER.test(l)).length, expected.linkedids.length);
    assert.match(r.stdout, /need_registration\.ts → FAILED need_registration\.ts:3:\d+ HOOK_THROW no lists today; failed/);
    assert.match(r.stdout, /process_client_phone\.ts → (FAILED process_client_phone\.ts(:\d+:\d+)? HOOK_TIMEOUT|skipped: cooling_down)/);
    assert.doesNotMatch(r.stdout + r.stderr, /node_modules|sandbox\/|at async/, 'no host paths or stacks');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad settings stop `callhook run` with the file and the key, before anything runs', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callhook-run-'));
  try {
    writeFileSync(path.join(dir, 'typo.json'), JSON.stringify({ hooks: { foldr: 'x' } }));
    let r = callhook(['run', '--settings', 'typo.json'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /typo\.json: \/hooks\/foldr: unknown key/);
    assert.equal(r.stdout, '');
    writeFileSync(path.join(dir, 'regex.json'), JSON.stringify({ numbers: { auto_replace: [{ pattern: '^(\\d+', replacement: '$1' }] } }));
    r = callhook(['run', '--settings', 'regex.json'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /regex\.json: \/numbers\/auto_replace\/0\/pattern/);
    // A CRM setting the schema accepts but that cannot work stops the run with the file and the key.
    writeFileSync(path.join(dir, 'webhook.json'), JSON.stringify({ crm: { type: 'bitrix24', bitrix24: { webhook_url: 'https://portal.example/rest/1/' } } }));
    r = callhook(['run', '--settings', 'webhook.json'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^webhook\.json: crm\.bitrix24\.webhook_url: /m);
    assert.doesNotMatch(r.stdout, /→ telephony/, 'nothing was sent');
    writeFileSync(path.join(dir, 'zone.json'), JSON.stringify({ calls: { pbx_time_zone: 'Mars/Olympus' } }));
    r = callhook(['run', '--settings', 'zone.json'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /zone\.json: \/calls\/pbx_time_zone/);
    r = callhook(['run', '--settings', 'missing.json'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /missing\.json/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
