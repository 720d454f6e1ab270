// The LoadedHook contract the hook host relies on: results, logs (returned and sent to pino with hook,
// file and call id), settings, http, output schema, circuit breaker, concurrency and dispose.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSource, memoryLogger, startServer } from './kit.js';

test('plain default export: declaredHook null, sync result, logs returned and sent to pino', async () => {
  const { logger, lines } = memoryLogger();
  const hook = await loadSource(`import { log, settings } from 'callhook';\nexport default (i: { n: number }) => { log.warn('checking', { n: i.n, mode: settings.mode }); console.log('via console'); return [i.n, settings.mode]; };`,
    { logger, hookSettings: { mode: 'strict' } });
  try {
    assert.equal(hook.declaredHook, null);
    const r = await hook.invoke({ n: 4 }, { hook: 'need_registration', callId: 'c-42' });
    assert.ok(r.ok);
    assert.deepEqual(r.value, [4, 'strict']);
    assert.deepEqual(r.logs, [{ level: 'warn', message: 'checking', data: { n: 4, mode: 'strict' } }, { level: 'info', message: 'via console' }]);
    const line = lines.find((l) => l.msg === 'checking');
    assert.ok(line);
    assert.equal(line.hook, 'need_registration');
    assert.equal(line.file, 'hook.ts');
    assert.equal(line.callId, 'c-42');
    assert.equal(line.level, 40);
  } finally {
    await hook.dispose();
  }
});

test('async hook with http to an allow-listed host', async () => {
  const server = await startServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => { res.writeHead(201, { 'content-type': 'application/json' }); res.end(JSON.stringify({ got: JSON.parse(body) as unknown, auth: req.headers.authorization ?? null })); });
  });
  const hook = await loadSource(`import { defineHook, http, settings } from 'callhook';
export default defineHook('post_registration', async (i: { id: string }) => {
  const r = await http.post('${server.url}/hook', { id: i.id }, { headers: { Authorization: 'Bearer ' + settings.token } });
  return { status: r.status, echoed: r.json() };
});`, { http: { allowHosts: [server.host] }, hookSettings: { token: 't0k' } });
  try {
    assert.equal(hook.declaredHook, 'post_registration');
    const r = await hook.invoke({ id: 'x1' }, { hook: 'post_registration' });
    assert.ok(r.ok, r.ok ? '' : r.error.format());
    assert.deepEqual(r.value, { status: 201, echoed: { got: { id: 'x1' }, auth: 'Bearer t0k' } });
  } finally {
    await hook.dispose();
    await server.close();
  }
});

test('output schema is enforced (validator cached per schema object)', async () => {
  const hook = await loadSource(`export default (i: { v: unknown }) => ({ action: i.v });`);
  const schema = { type: 'object', required: ['action'], properties: { action: { type: 'string' } }, additionalProperties: false };
  try {
    const good = await hook.invoke({ v: 'skip' }, { hook: 'h', outputSchema: schema });
    assert.ok(good.ok);
    const bad = await hook.invoke({ v: 3 }, { hook: 'h', outputSchema: schema });
    assert.equal(bad.ok ? 'ok' : bad.error.code, 'HOOK_BAD_RESULT');
    assert.match(bad.ok ? '' : bad.error.message, /result\.action must be string/);
  } finally {
    await hook.dispose();
  }
});

test('circuit breaker: consecutive failures → cooling down (call not attempted) → retried after the cool-down', async () => {
  const { logger, lines } = memoryLogger();
  const hook = await loadSource(`let calls = 0;\nexport default (i: { fail: boolean }) => { calls++; if (i.fail) throw new Error('down'); return calls; };`,
    { logger, breaker: { failureThreshold: 3, coolDownMs: 150 } });
  try {
    for (let k = 0; k < 3; k++) assert.equal((await hook.invoke({ fail: true }, { hook: 'h' })).ok, false);
    assert.equal(hook.health.state, 'cooling_down');
    assert.equal(hook.health.consecutiveFailures, 3);
    assert.ok(lines.some((l) => /cooling down/.test(String(l.msg))));
    const skipped = await hook.invoke({ fail: false }, { hook: 'h' });
    assert.equal(skipped.ok ? 'ok' : skipped.error.code, 'HOOK_COOLING_DOWN');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(hook.health.state, 'active');
    const back = await hook.invoke({ fail: false }, { hook: 'h' });
    assert.ok(back.ok);
    assert.equal(back.value, 4); // the skipped call never ran
    assert.equal(hook.health.consecutiveFailures, 0);
  } finally {
    await hook.dispose();
  }
});

test('each call gets its own copy of the input; concurrent calls of one hook are serialised', async () => {
  const hook = await loadSource(`let inFlight = 0, maxInFlight = 0;
export default async (i: { list: number[] }) => { inFlight++; maxInFlight = Math.max(maxInFlight, inFlight); i.list.push(1); await null; await null; inFlight--; return { len: i.list.length, maxInFlight }; };`);
  try {
    const input = { list: [0] };
    const results = await Promise.all([1, 2, 3].map(() => hook.invoke(input, { hook: 'h' })));
    for (const r of results) assert.deepEqual(r.ok && r.value, { len: 2, maxInFlight: 1 });
    assert.deepEqual(input, { list: [0] });
  } finally {
    await hook.dispose();
  }
});

test('dispose during an async call settles it with HOOK_DISPOSED; later calls too', async () => {
  const hook = await loadSource(`export default () => new Promise(() => {});`, { limits: { wallMsPerCall: 5000 } });
  const pending = hook.invoke(null, { hook: 'h' });
  await new Promise((r) => setTimeout(r, 20));
  await hook.dispose();
  const r = await pending;
  assert.equal(r.ok ? 'ok' : r.error.code, 'HOOK_DISPOSED');
  const later = await hook.invoke(null, { hook: 'h' });
  assert.equal(later.ok ? 'ok' : later.error.code, 'HOOK_DISPOSED');
});

test('module state persists between calls of one hook (one isolate per file, not per call)', async () => {
  const hook = await loadSource(`let n = 0; export default () => ++n;`);
  try {
    const values = [];
    for (let k = 0; k < 4; k++) {
      const r = await hook.invoke(null, { hook: 'h' });
      values.push(r.ok ? r.value : r.error.code);
    }
    assert.deepEqual(values, [1, 2, 3, 4]);
  } finally {
    await hook.dispose();
  }
});
