// The operator's HTTP API over real HTTP on 127.0.0.1, against calls the real connector recorded: every
// endpoint but /health refuses a request without credentials, wrong passwords are rate-limited, a cookie
// request without the CSRF token is refused, /metrics parses as Prometheus text, /status?path= selects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyPluginAsync } from 'fastify';
import { hashPassword, parsePasswordHash, verifyPassword } from '../../core/http/auth.js';
import { startAdminServer } from '../../core/http/server.js';
import { readCallReport } from '../../core/pipeline/index.js';
import { pino } from 'pino';
import { parsePrometheusText, sampleValue } from './prom-text.js';
import { recordDemoCalls, signIn, startTestServer, TOKEN, PASSWORD, type Recorded, type TestServer } from './kit.js';

let rec: Recorded;
let srv: TestServer;

// A plugin that checks its own callers (as click-to-call does with the CRM's application token) and one
// registered without that marker, which must land behind the operator's sign-in.
const selfAuth: FastifyPluginAsync = async (app) => {
  app.get('/c2c/ping', async (req, reply) => (req.headers['x-app-token'] === 'app-secret' ? { pong: true } : reply.code(403).send({ code: 'C2C_BAD_TOKEN' })));
};
const unmarked: FastifyPluginAsync = async (app) => {
  app.get('/extra/thing', async () => ({ secret: 'data' }));
};

before(async () => {
  rec = await recordDemoCalls();
  srv = await startTestServer(rec, { plugins: [{ plugin: selfAuth, auth: 'self' }, { plugin: unmarked, auth: 'operator' }] });
});
after(async () => {
  await srv?.close();
  rec?.cleanup();
});

const PROTECTED: Array<[string, string]> = [
  ['GET', '/'], ['GET', '/app.js'], ['GET', '/session'], ['GET', '/status'], ['GET', '/status?path=version'], ['GET', '/metrics'], ['GET', '/calls'],
  ['GET', '/calls/x'], ['GET', '/hooks'], ['GET', '/hooks/need_registration.blacklist.ts/source'], ['POST', '/hooks/need_registration.blacklist.ts/disable'], ['POST', '/whatif'], ['POST', '/reprocess'],
  ['GET', '/reprocess/1'], ['GET', '/extra/thing'],
];

test('every endpoint but /health refuses a request without credentials or with a wrong token', async () => {
  const health = await fetch(`${srv.url}/health`);
  assert.equal(health.status, 200);
  for (const [method, path] of PROTECTED) {
    const none = await fetch(`${srv.url}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{}' } : {}), redirect: 'manual' });
    assert.equal(none.status, 401, `${method} ${path} without credentials`);
    const body = await none.text();
    assert.doesNotMatch(body, /secret|linkedid|need_registration\.blacklist/, `${method} ${path} leaks nothing`);
    const wrong = await fetch(`${srv.url}${path}`, { method, headers: { authorization: 'Bearer not-the-token-not-the-token', 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{}' } : {}) });
    assert.equal(wrong.status, 401, `${method} ${path} with a wrong token`);
  }
  // The page redirects a browser to the sign-in page.
  const page = await fetch(`${srv.url}/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
  assert.equal(page.status, 302);
  assert.equal(page.headers.get('location'), '/login');
  // The self-authenticating plugin is reached without a session and does its own check.
  assert.equal((await fetch(`${srv.url}/c2c/ping`)).status, 403);
  assert.deepEqual(await (await fetch(`${srv.url}/c2c/ping`, { headers: { 'x-app-token': 'app-secret' } })).json(), { pong: true });
  // With the bearer token the unmarked plugin answers.
  assert.deepEqual(await (await fetch(`${srv.url}/extra/thing`, { headers: { authorization: `Bearer ${TOKEN}` } })).json(), { secret: 'data' });
});

test('sign-in sets an HttpOnly SameSite=Strict cookie; a cookie request that changes state needs the CSRF token', async () => {
  const res = await fetch(`${srv.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ops', password: PASSWORD }) });
  assert.equal(res.status, 200);
  const cookie = res.headers.get('set-cookie') ?? '';
  assert.match(cookie, /^callhook_session=[A-Za-z0-9_-]{40,};/);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.doesNotMatch(cookie, /Secure/, 'not Secure unless http.secure_cookies');
  const { cookie: c, csrf } = await signIn(srv.url);
  const session = await (await fetch(`${srv.url}/session`, { headers: { cookie: c } })).json() as { user: string; csrf: string };
  assert.deepEqual(session, { user: 'ops', csrf });
  const hook = 'need_registration.blacklist.ts';
  const noCsrf = await fetch(`${srv.url}/hooks/${hook}/disable`, { method: 'POST', headers: { cookie: c } });
  assert.equal(noCsrf.status, 403);
  assert.equal(((await noCsrf.json()) as { code: string }).code, 'CSRF_REFUSED');
  const wrongCsrf = await fetch(`${srv.url}/hooks/${hook}/disable`, { method: 'POST', headers: { cookie: c, 'x-csrf-token': `${csrf}x` } });
  assert.equal(wrongCsrf.status, 403);
  assert.equal(srv.host.status().find((h) => h.hook === hook)?.state, 'active', 'nothing changed');
  const ok = await fetch(`${srv.url}/hooks/${hook}/disable`, { method: 'POST', headers: { cookie: c, 'x-csrf-token': csrf } });
  assert.equal(ok.status, 200);
  assert.equal(srv.host.status().find((h) => h.hook === hook)?.state, 'disabled');
  assert.deepEqual(await srv.store.hookSwitches(srv.pbx), [hook], 'persisted');
  // A script with the bearer token needs no CSRF token.
  const back = await fetch(`${srv.url}/hooks/${hook}/enable`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(back.status, 200);
  assert.equal(srv.host.status().find((h) => h.hook === hook)?.state, 'active');
  assert.deepEqual(await srv.store.hookSwitches(srv.pbx), []);
  assert.equal((await fetch(`${srv.url}/hooks/nope.ts/disable`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status, 404);
  const source = await fetch(`${srv.url}/hooks/${hook}/source`, { headers: { cookie: c } });
  assert.match(await source.text(), /defineHook\('need_registration'/);
  assert.equal((await fetch(`${srv.url}/hooks/..%2F..%2Fetc%2Fpasswd/source`, { headers: { cookie: c } })).status, 404, 'only loaded hooks');
  // Signing out ends the session.
  await fetch(`${srv.url}/logout`, { method: 'POST', headers: { cookie: c } });
  assert.equal((await fetch(`${srv.url}/session`, { headers: { cookie: c } })).status, 401);
});

test('wrong passwords are rate-limited: after 5 failures even the right password waits (429 with Retry-After)', async () => {
  const own = await startTestServer(rec, { http: { login_attempts_per_minute: 5 } });
  try {
    const attempt = (password: string): Promise<Response> => fetch(`${own.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ops', password }) });
    for (let i = 0; i < 5; i++) assert.equal((await attempt(`wrong-${i}`)).status, 401, `attempt ${i + 1}`);
    const limited = await attempt(PASSWORD);
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    assert.equal(limited.headers.get('set-cookie'), null, 'no session');
    // An unknown user name is refused like a wrong password (nothing tells which users exist).
    const other = await startTestServer(rec);
    try {
      const unknown = await fetch(`${other.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'nobody', password: PASSWORD }) });
      assert.equal(unknown.status, 401);
      assert.equal(((await unknown.json()) as { code: string }).code, 'LOGIN_FAILED');
    } finally {
      await other.close();
    }
  } finally {
    await own.close();
  }
});

test('a non-loopback bind without users or tokens is refused at start, naming the setting; hashes are checked', async () => {
  const base = { ...rec.settings, http: { ...rec.settings.http, port: 0, bind: '0.0.0.0', users: [], tokens: [] } };
  await assert.rejects(
    startAdminServer({ settings: base, store: srv.store, pbx: srv.pbx, host: srv.host, logger: pino({ level: 'silent' }), version: 't' }),
    (e: Error) => /HTTP_OPEN_BIND/.test(e.message) && /http\.bind/.test(e.message) && /http\.users/.test(e.message),
  );
  await assert.rejects(
    startAdminServer({ settings: { ...base, http: { ...base.http, bind: '127.0.0.1', users: [{ name: 'x', password_hash: 'scrypt$oops' }] } }, store: srv.store, pbx: srv.pbx, host: srv.host, logger: pino({ level: 'silent' }), version: 't' }),
    /HTTP_BAD_PASSWORD_HASH: http\.users\[0\]\.password_hash/,
  );
  const hash = await hashPassword('s3cret-pass');
  const parsed = parsePasswordHash(hash);
  assert.ok(parsed);
  assert.equal(await verifyPassword('s3cret-pass', parsed), true);
  assert.equal(await verifyPassword('s3cret-pasS', parsed), false);
  assert.notEqual(await hashPassword('s3cret-pass'), hash, 'salted');
});

const auth = { authorization: `Bearer ${TOKEN}` };

test('/status: state, hooks from the host, CEL cursor, outbox per portal; ?path= selects a sub-element', async () => {
  const doc = await (await fetch(`${srv.url}/status`, { headers: auth })).json() as Record<string, unknown> & { hooks: Array<{ hook: string; state: string }>; cel: { cursor: number }; outbox: Record<string, { actions: Record<string, number> }>; calls: Record<string, number> };
  assert.equal(doc.app_state, '');
  assert.equal(doc.app_status, 'Ok', JSON.stringify(doc.problems));
  assert.equal(doc.version, 'test');
  assert.equal(typeof doc.uptime_seconds, 'number');
  assert.deepEqual(doc.hooks.map((h) => h.hook).sort(), ['need_registration.blacklist.ts', 'need_registration.whitelist.ts', 'post_registration.ts', 'process_client_phone.ts', 'process_originate_params.ts', 'process_record_file_path.ts']);
  assert.ok(doc.cel.cursor > 0, 'the cursor the replay reached');
  const portals = Object.keys(doc.outbox);
  assert.equal(portals.length, 1);
  const done = doc.outbox[portals[0] as string]?.actions.done ?? 0;
  assert.ok(done > 10, `the demo CRM answered the calls' requests (${done})`);
  assert.equal(doc.calls.done, 11);

  const version = await fetch(`${srv.url}/status?path=version`, { headers: auth });
  assert.equal(await version.text(), 'test');
  assert.equal(await (await fetch(`${srv.url}/status?path=hooks[need_registration.blacklist.ts].state`, { headers: auth })).text(), 'active');
  assert.equal(await (await fetch(`${srv.url}/status?path=calls.done`, { headers: auth })).text(), '11');
  assert.deepEqual(await (await fetch(`${srv.url}/status?path=cel`, { headers: auth })).json(), doc.cel);
  const missing = await fetch(`${srv.url}/status?path=hooks.nope.state`, { headers: auth });
  assert.equal(missing.status, 404);
  assert.match(((await missing.json()) as { message: string }).message, /no element 'hooks\.nope'/);
});

test('/metrics parses as Prometheus text: calls, per-hook histograms, outbox, process and event-loop metrics', async () => {
  const [first] = (await srv.store.listCalls(srv.pbx, { limit: 1 }));
  const report = await readCallReport(srv.store, srv.pbx, first?.linkedid ?? '');
  assert.ok(report);
  srv.server.recordCall(report);
  const res = await fetch(`${srv.url}/metrics`, { headers: auth });
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  const m = parsePrometheusText(await res.text());
  for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'callhook_outbox_depth', 'callhook_outbox_actions', 'callhook_calls_total', 'callhook_hook_duration_seconds', 'callhook_hook_calls_total']) {
    assert.ok(m.has(name), `${name} present`);
  }
  assert.equal(m.get('callhook_hook_duration_seconds')?.type, 'histogram');
  assert.equal(sampleValue(m, 'callhook_calls_in_store', { status: 'done' }), 11);
  assert.equal(sampleValue(m, 'callhook_outbox_depth'), 0);
  const type = report.summary?.type ?? '';
  const result = report.summary?.registered === true ? 'registered' : 'not_registered';
  assert.equal(sampleValue(m, 'callhook_calls_total', { type, result }), 1);
  const hookCalls = report.stages.flatMap((s) => s.steps).flatMap((s) => (s.kind === 'hook' ? s.hooks.map((h) => ({ hook: h.hook, point: s.point })) : []));
  const h0 = hookCalls[0];
  assert.ok(h0, 'the call ran hooks');
  const expected = hookCalls.filter((h) => h.hook === h0.hook && h.point === h0.point).length;
  assert.equal(sampleValue(m, 'callhook_hook_duration_seconds_count', { hook: h0.hook, point: h0.point }), expected);
  assert.equal(sampleValue(m, 'callhook_hook_duration_seconds_bucket', { hook: h0.hook, point: h0.point, le: '+Inf' }), expected);
});

test('/calls lists and filters the recorded calls; /calls/:linkedid has call_full and every stage\'s trace', async () => {
  const all = await (await fetch(`${srv.url}/calls`, { headers: auth })).json() as { calls: Array<{ linkedid: string; startTime: string; summary: { type: string; registered: boolean; client: string } }> };
  assert.equal(all.calls.length, 11);
  assert.ok(all.calls[0] && all.calls[10] && all.calls[0].startTime >= all.calls[10].startTime, 'newest first');
  const registered = all.calls.filter((c) => c.summary.registered).length;
  const reg = await (await fetch(`${srv.url}/calls?result=registered`, { headers: auth })).json() as { calls: unknown[] };
  assert.equal(reg.calls.length, registered);
  assert.ok(registered > 0 && registered < 11);
  const someType = all.calls[0]?.summary.type ?? '';
  const byType = await (await fetch(`${srv.url}/calls?type=${someType}`, { headers: auth })).json() as { calls: Array<{ summary: { type: string } }> };
  assert.ok(byType.calls.length > 0 && byType.calls.every((c) => c.summary.type === someType));
  const number = all.calls.find((c) => c.summary.client !== '')?.summary.client ?? '';
  const byNumber = await (await fetch(`${srv.url}/calls?number=${encodeURIComponent(number)}`, { headers: auth })).json() as { calls: unknown[] };
  assert.ok(byNumber.calls.length > 0);
  assert.equal((await (await fetch(`${srv.url}/calls?number=000000000`, { headers: auth })).json() as { calls: unknown[] }).calls.length, 0);
  const bad = await fetch(`${srv.url}/calls?from=yesterday`, { headers: auth });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { message: string }).message, /^from: 'yesterday' is not/);
  assert.equal((await (await fetch(`${srv.url}/calls?hook=need_registration.blacklist.ts`, { headers: auth })).json() as { calls: unknown[] }).calls.length, 0, 'no hook failed in the demo');

  const id = all.calls.find((c) => c.summary.registered)?.linkedid ?? '';
  const call = await (await fetch(`${srv.url}/calls/${encodeURIComponent(id)}`, { headers: auth })).json() as { call_full: { channel: object }; stages: Array<{ stage: string; steps: Array<{ kind: string; hooks?: Array<{ hook: string }>; trace?: { input: object }; method?: string; outcome?: object }> }> };
  assert.ok(call.call_full.channel);
  assert.ok(call.stages.length >= 2);
  const steps = call.stages.flatMap((s) => s.steps);
  assert.ok(steps.some((s) => s.kind === 'hook' && s.trace?.input !== undefined && (s.hooks ?? []).length > 0), 'a hook step with its input and the hooks\' outputs');
  assert.ok(steps.some((s) => s.kind === 'crm' && s.method === 'telephony.externalcall.register' && s.outcome !== undefined), 'the CRM request and its answer');
  assert.equal((await fetch(`${srv.url}/calls/nope`, { headers: auth })).status, 404);
});
