// `callhook reprocess`: a period or ids run again through the hooks and the pipeline; what the CRM
// already has is never sent twice (running it twice registers nothing twice), a parked call is delivered
// after the cause is fixed, a call a hook kept out is delivered once the hook is fixed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalBitrix24, type LocalBitrix24 } from '../../core/demo-crm/bitrix24/index.js';
import { RECORDED } from '../cel/assembler-kit.js';
import { CALLHOOK } from './kit.js';

let dir = '';
let crm: LocalBitrix24;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'callhook-reprocess-'));
  crm = await startLocalBitrix24({ limits: { requestsPerSecond: 100, burst: 200 } });
});

after(async () => {
  await crm.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The real binary, asynchronously: the local portal answers from this process's event loop. */
function callhook(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CALLHOOK, ...args], { cwd: dir, env: { ...process.env, CALLHOOK_LOG_LEVEL: 'error' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const TRANSFER = '1795500158.66'; // incoming, answered by 201, transferred to 202
const QUEUE = '1795500212.86'; // incoming queue call

function writeHooks(files: Record<string, string>): void {
  const hooks = path.join(dir, 'hooks');
  rmSync(hooks, { recursive: true, force: true });
  mkdirSync(hooks);
  for (const [name, source] of Object.entries(files)) writeFileSync(path.join(hooks, name), source);
}

const registers = (): number => crm.received.filter((r) => r.method === 'telephony.externalcall.register').length;
const finishesOk = (): number => crm.received.filter((r) => r.method === 'telephony.externalcall.finish' && r.status === 200).length;

test('reprocess: nothing twice, a parked call delivered once its cause is fixed, a call kept out by a hook delivered after the fix', { timeout: 300_000 }, async () => {
  writeFileSync(path.join(dir, 'settings.json'), JSON.stringify({
    cel: { replay: { path: RECORDED } },
    crm: { type: 'bitrix24', bitrix24: { webhook_url: crm.webhookUrl, requests_per_second: 100, burst: 200 }, delivery: { retry_min_ms: 50 } },
    store: { sqlite: { path: 'store.sqlite' } },
    hooks: { folder: 'hooks', watch: false },
  }));
  // The first pass: the transfer call is registered on a user the portal does not have (parked: the CRM
  // refuses it), and a blacklist keeps the queue call out.
  writeHooks({
    'process_registration_params.ts': `import { defineHook } from 'callhook';
export default defineHook('process_registration_params', ({ call_full, params }) => call_full.channel.id === '${TRANSFER}' ? { ...params, USER_ID: 999 } : params);
`,
    'need_registration.ts': `import { defineHook } from 'callhook';
export default defineHook('need_registration', ({ call_full }) => call_full.channel.id !== '${QUEUE}');
`,
  });
  const first = await callhook(['run', '--settings', 'settings.json']);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /; 1 parked/);
  assert.match(first.stdout, new RegExp(`PARKED: the CRM refused the registration: ERROR_CORE User is not found or is not active .*reprocess --id ${TRANSFER.replace('.', '\\.')}`));
  const delivered = crm.state.calls.size;
  assert.equal(delivered, 3, 'the other three customer calls are in the CRM (the parked one got no CALL_ID, the queue call was kept out)');
  const [registers1, finishes1] = [registers(), finishesOk()];

  // The whole period again, hooks unchanged: nothing is sent twice; the parked call is refused again.
  const again = await callhook(['reprocess', '--settings', 'settings.json', '--from', '2026-11-24 00:00:00', '--to', '2026-11-24 23:59:59']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /^11 calls to process again$/m);
  assert.equal(crm.state.calls.size, delivered, 'no new CRM call');
  assert.equal(finishesOk(), finishes1, 'no second finish');
  assert.equal(registers(), registers1 + 1, 'only the parked call asked again (and was refused again)');
  assert.match(again.stdout, /11 calls reprocessed: 1 CRM requests sent, \d+ already delivered and not sent again, 1 parked/);

  // Fix the hooks: the parked call and the call kept out are delivered, once.
  writeHooks({});
  const fixed = await callhook(['reprocess', '--settings', 'settings.json', '--id', TRANSFER, '--id', QUEUE, '--id', '1.1']);
  assert.equal(fixed.status, 0, fixed.stderr);
  assert.match(fixed.stdout, /no CEL rows for 1\.1/);
  assert.equal(crm.state.calls.size, delivered + 2, 'both registered now');
  const byNumber = [...crm.state.calls.values()].filter((c) => /1795500(158\.66|212\.86)$/.test(c.EXTERNAL_CALL_ID ?? ''));
  assert.equal(byNumber.length, 2);
  for (const c of byNumber) assert.ok(c.finish !== null, `${c.EXTERNAL_CALL_ID} finished`);

  // And once more: nothing at all is sent.
  const before = crm.received.length;
  const idle = await callhook(['reprocess', '--settings', 'settings.json', '--id', TRANSFER, '--id', QUEUE]);
  assert.equal(idle.status, 0, idle.stderr);
  assert.match(idle.stdout, /2 calls reprocessed: 0 CRM requests sent, \d+ already delivered and not sent again/);
  // (The employee directory is read at every start: user.get is no call's action.)
  assert.deepEqual(crm.received.slice(before).filter((r) => r.method !== 'user.get').map((r) => `${r.method} ${JSON.stringify(r.params)}`), [], 'a call the CRM has is not sent again');

  // Bad usage names what is wrong.
  const bad = await callhook(['reprocess', '--settings', 'settings.json', '--from', 'yesterday']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--from "yesterday" is not YYYY-MM-DD HH:MM:SS/);
  assert.equal((await callhook(['reprocess', '--settings', 'settings.json'])).status, 2);
});
