// POST /reprocess inside a running connector runtime (its own pipeline does the work), with progress read
// back while it runs; and the operator's hook switch: with both need_registration hooks switched off, the
// call the blacklist kept out is reprocessed and the point's default (register) applies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { readCallReport, type CallReport, type HookStep } from '../../core/pipeline/index.js';
import { reprocessInRuntime } from '../../core/run/reprocess.js';
import { openRuntime, type ConnectorRuntime } from '../../core/run/runtime.js';
import { startAdminServer, type AdminServer } from '../../core/http/server.js';
import { hashPassword } from '../../core/http/auth.js';
import { recordDemoCalls, TOKEN, type Recorded } from './kit.js';
import { waitUntil } from '../pipeline/kit.js';

let rec: Recorded;
let runtime: ConnectorRuntime;
let server: AdminServer;
let stopPipeline: () => Promise<void>;
const logger = pino({ level: 'silent' });
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

before(async () => {
  rec = await recordDemoCalls();
  runtime = await openRuntime(rec.settings, { logger, watchHooks: false });
  const pipeline = runtime.pipeline(() => undefined);
  pipeline.start();
  stopPipeline = () => pipeline.stop();
  server = await startAdminServer({
    settings: { ...rec.settings, http: { ...rec.settings.http, port: 0, users: [{ name: 'ops', password_hash: await hashPassword('pw-pw-pw-pw') }], tokens: [TOKEN] } },
    store: runtime.store, pbx: runtime.pbx, host: runtime.host, logger, version: 't',
    jobs: { reprocess: (selection, progress) => reprocessInRuntime(rec.settings, runtime, selection, { logger, progress }) },
  });
});
after(async () => {
  await server?.close();
  await stopPipeline?.();
  await runtime?.close();
  rec?.cleanup();
});

interface Job { id: string; state: string; total: number | null; done: number; result: { calls: number; parked: number } | null; error: string | null }

async function runJob(body: object): Promise<{ job: Job; seen: Array<[number | null, number]> }> {
  const res = await fetch(`${server.url}/reprocess`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
  assert.equal(res.status, 202, await res.clone().text());
  const started = (await res.json()) as Job;
  const seen: Array<[number | null, number]> = [];
  let job = started;
  await waitUntil('the reprocess job to finish', async () => {
    job = (await (await fetch(`${server.url}/reprocess/${started.id}`, { headers: auth })).json()) as Job;
    seen.push([job.total, job.done]);
    return job.state !== 'running';
  }, 120_000);
  return { job, seen };
}

test('POST /reprocess of a period: every call runs again, progress climbs to the total', async () => {
  const before = await runtime.store.listCalls(runtime.pbx);
  assert.equal(before.length, 11);
  const bad = await fetch(`${server.url}/reprocess`, { method: 'POST', headers: auth, body: JSON.stringify({ from: 'monday' }) });
  assert.equal(bad.status, 400);
  const { job, seen } = await runJob({ from: '2000-01-01 00:00:00', to: '2099-12-31 23:59:59' });
  assert.equal(job.state, 'done', job.error ?? '');
  assert.equal(job.total, 11);
  assert.equal(job.done, 11);
  assert.equal(job.result?.calls, 11);
  const dones = seen.map(([, d]) => d);
  assert.ok(dones.every((d, i) => i === 0 || d >= (dones[i - 1] ?? 0)), 'progress never goes back');
  for (const c of await runtime.store.listCalls(runtime.pbx)) {
    assert.equal(c.run, 2, `${c.linkedid} ran again`);
    assert.equal(c.status, 'done');
  }
});

test('hooks switched off through the API: their point applies its default on the next run of a call', async () => {
  let blocked: CallReport | null = null;
  for (const c of await runtime.store.listCalls(runtime.pbx)) {
    const r = await readCallReport(runtime.store, runtime.pbx, c.linkedid);
    if (r?.summary?.not_registered !== null && r?.summary?.registered === false && JSON.stringify(r.call_full).includes('"original":"204"')) blocked = r;
  }
  assert.ok(blocked, 'the demo has a call of 204 the blacklist kept out');
  for (const hook of ['need_registration.blacklist.ts', 'need_registration.whitelist.ts']) {
    const res = await fetch(`${server.url}/hooks/${hook}/disable`, { method: 'POST', headers: { authorization: auth.authorization } });
    assert.equal(res.status, 200);
  }
  const { job } = await runJob({ ids: [blocked.linkedid] });
  assert.equal(job.state, 'done', job.error ?? '');
  const after = await readCallReport(runtime.store, runtime.pbx, blocked.linkedid);
  assert.ok(after);
  const steps = after.stages.flatMap((s) => s.steps).filter((s): s is HookStep => s.kind === 'hook' && s.point === 'need_registration');
  assert.ok(steps.length > 0);
  for (const s of steps) {
    assert.deepEqual(s.hooks, [], 'no need_registration hook ran');
    assert.notEqual(s.defaultApplied, null, 'the default applied');
    assert.equal(s.value, true, "need_registration's default: register");
  }
  // The demo's 204 call is internal: with the hooks off it is no longer refused by need_registration but by the
  // pipeline's own rule for internal calls (as for any other internal call).
  assert.equal(blocked.summary?.not_registered, 'need_registration said no');
  assert.equal(after.summary?.not_registered, 'internal call', 'need_registration (its default) said yes this time');
  assert.deepEqual(await runtime.store.hookSwitches(runtime.pbx), ['need_registration.blacklist.ts', 'need_registration.whitelist.ts']);
});
