// The local Bitrix24 portal's authentication, over real HTTP: incoming webhooks (code, scopes, URL forms,
// GET/POST/form/JSON), OAuth access tokens (expiry) and the token endpoint (rotation, invalid_grant,
// invalid_client), and the documented error bodies for each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalBitrix24 } from '../../core/demo-crm/bitrix24/index.js';
import { rest, sleep, token } from './kit.js';

const users = [{ ID: 1, NAME: 'Alice', UF_PHONE_INNER: '200' }, { ID: 2, NAME: 'Bob', UF_PHONE_INNER: '201' }];

test('the server listens on 127.0.0.1 and the webhook URL has the documented /rest/<user_id>/<code>/ form', async () => {
  const s = await startLocalBitrix24({ users });
  try {
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(s.webhookUrl, new RegExp(`^${s.url}/rest/1/[0-9a-f]{16}/$`));
    assert.equal(s.oauth.tokenUrl, `${s.url}/oauth/token/`);
  } finally {
    await s.close();
  }
});

test('a webhook call works with or without .json, any method case, GET query, POST form and POST JSON', async () => {
  const s = await startLocalBitrix24({ users });
  try {
    for (const method of ['user.get', 'user.get.json', 'USER.GET', 'User.Get.json']) {
      const a = await rest(s, method, { FILTER: { UF_PHONE_INNER: '201' } });
      assert.equal(a.status, 200, `${method}: ${a.text}`);
      assert.deepEqual((a.json!['result'] as { ID: string }[]).map((u) => u.ID), ['2'], method);
      assert.ok(a.json!['time'], 'every answer has time');
    }
    const get = await rest(s, 'user.get', {}, { http: 'GET', form: 'FILTER[UF_PHONE_INNER]=200' });
    assert.deepEqual((get.json!['result'] as { ID: string }[]).map((u) => u.ID), ['1']);
    const form = await rest(s, 'user.get', {}, { form: 'FILTER%5BUF_PHONE_INNER%5D=201' });
    assert.deepEqual((form.json!['result'] as { ID: string }[]).map((u) => u.ID), ['2']);
  } finally {
    await s.close();
  }
});

test('a wrong webhook code or user id answers 401 NO_AUTH_FOUND and runs nothing', async () => {
  const s = await startLocalBitrix24({ users });
  try {
    for (const path of [`${s.url}/rest/1/wrongcode/user.get`, `${s.url}/rest/7/${s.webhookUrl.split('/')[5]}/user.get`]) {
      const r = await fetch(path, { method: 'POST' });
      assert.equal(r.status, 401);
      assert.deepEqual(await r.json(), { error: 'NO_AUTH_FOUND', error_description: 'Wrong authorization data' });
    }
    const register = await fetch(`${s.url}/rest/1/nope/telephony.externalcall.register`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ USER_ID: 1, PHONE_NUMBER: '555', TYPE: 2 }),
    });
    assert.equal(register.status, 401);
    assert.equal(s.state.calls.size, 0, 'nothing was registered');
  } finally {
    await s.close();
  }
});

test('a webhook created without a scope answers 403 insufficient_scope for that scope\'s methods only', async () => {
  const s = await startLocalBitrix24({ users, webhook: { scopes: ['user', 'crm'] } });
  try {
    const denied = await rest(s, 'telephony.externalcall.register', { USER_ID: 1, PHONE_NUMBER: '555', TYPE: 2 });
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.json, { error: 'insufficient_scope', error_description: 'The request requires higher privileges than provided by the webhook token' });
    assert.equal((await rest(s, 'tasks.task.list', {})).status, 403);
    assert.equal((await rest(s, 'user.get', {})).status, 200);
    assert.equal((await rest(s, 'crm.duplicate.findbycomm', { type: 'PHONE', values: ['555'] })).status, 200);
    assert.equal(s.state.calls.size, 0);
  } finally {
    await s.close();
  }
});

test('an unknown method answers 404 ERROR_METHOD_NOT_FOUND; an unknown path is an HTML 404', async () => {
  const s = await startLocalBitrix24({ users });
  try {
    const a = await rest(s, 'crm.deal.frobnicate', {});
    assert.equal(a.status, 404);
    assert.deepEqual(a.json, { error: 'ERROR_METHOD_NOT_FOUND', error_description: 'Method not found!' });
    const r = await fetch(`${s.url}/something/else`);
    assert.equal(r.status, 404);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
  } finally {
    await s.close();
  }
});

test('OAuth: no token → NO_AUTH_FOUND, an unknown one → invalid_token, a refreshed one works until it expires (expired_token)', async () => {
  const s = await startLocalBitrix24({ users, oauth: { accessTokenLifetimeMs: 400 } });
  try {
    const none = await rest(s, 'user.get', {}, { auth: { token: '' } });
    assert.equal(none.status, 401);
    assert.equal(none.json!['error'], 'NO_AUTH_FOUND');
    const unknown = await rest(s, 'user.get', {}, { auth: { token: 'made-up' } });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.json!['error'], 'invalid_token');

    const t = await token(s);
    assert.equal(t.status, 200, JSON.stringify(t.body));
    for (const key of ['access_token', 'refresh_token', 'expires', 'expires_in', 'client_endpoint', 'server_endpoint', 'member_id', 'domain']) assert.ok(key in t.body, key);
    assert.equal(t.body['client_endpoint'], `${s.url}/rest/`);
    const access = String(t.body['access_token']);
    const good = await rest(s, 'user.get', {}, { auth: { token: access } });
    assert.equal(good.status, 200, good.text);
    // The token also works in a GET query (auth=...).
    assert.equal((await rest(s, 'user.get', {}, { auth: { token: access }, http: 'GET' })).status, 200);
    await sleep(600);
    const expired = await rest(s, 'user.get', {}, { auth: { token: access } });
    assert.equal(expired.status, 401);
    assert.deepEqual(expired.json, { error: 'expired_token', error_description: 'The access token provided has expired.' });
  } finally {
    await s.close();
  }
});

test('the token endpoint rotates the refresh token: a used one answers invalid_grant, bad credentials invalid_client', async () => {
  const s = await startLocalBitrix24({ users });
  try {
    const first = await token(s);
    assert.equal(first.status, 200);
    const rotated = String(first.body['refresh_token']);
    assert.notEqual(rotated, s.oauth.refreshToken, 'a new refresh token on each use');
    const reused = await token(s, s.oauth.refreshToken);
    assert.equal(reused.status, 400);
    assert.equal(reused.body['error'], 'invalid_grant');
    const second = await token(s, rotated);
    assert.equal(second.status, 200);
    assert.equal((await token(s, rotated)).body['error'], 'invalid_grant', 'the rotated one is single-use too');
    assert.equal((await token(s, 'never-issued')).body['error'], 'invalid_grant');

    const q = new URLSearchParams({ grant_type: 'refresh_token', client_id: s.oauth.clientId, client_secret: 'wrong', refresh_token: String(second.body['refresh_token']) });
    const bad = await fetch(`${s.oauth.tokenUrl}?${q}`);
    assert.equal(bad.status, 401);
    assert.equal(((await bad.json()) as { error: string }).error, 'invalid_client');
    // POST form works as well as GET, and the refresh token survives the invalid_client attempt.
    const post = await fetch(s.oauth.tokenUrl, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: s.oauth.clientId, client_secret: s.oauth.clientSecret, refresh_token: String(second.body['refresh_token']) }).toString(),
    });
    assert.equal(post.status, 200);
    assert.equal(s.state.oauth.refreshes, 3);
    const recorded = s.received.filter((r) => r.endpoint === 'oauth/token');
    assert.ok(recorded.every((r) => r.params['client_secret'] === '[secret]' && r.params['refresh_token'] === '[secret]'), 'secrets are not kept in `received`');
  } finally {
    await s.close();
  }
});

test('OAuth calls run as the application: a webhook and an app registering the same call are two calls (REST_APP_ID differs)', async () => {
  const s = await startLocalBitrix24({ users });
  try {
    const access = String((await token(s)).body['access_token']);
    const params = { USER_ID: 1, PHONE_NUMBER: '5551234', TYPE: 2 };
    const viaHook = await rest(s, 'telephony.externalcall.register', params);
    const viaApp = await rest(s, 'telephony.externalcall.register', params, { auth: { token: access } });
    const ids = [viaHook, viaApp].map((a) => (a.json!['result'] as { CALL_ID: string }).CALL_ID);
    assert.notEqual(ids[0], ids[1]);
    assert.deepEqual([...s.state.calls.values()].map((c) => c.restAppId), ['webHook1', s.oauth.clientId]);
    assert.deepEqual(s.received.filter((r) => r.endpoint === 'rest').map((r) => r.auth), ['webhook', 'oauth']);
    assert.ok(s.received.every((r) => !('auth' in r.params)), 'the access token is not kept in `received`');
  } finally {
    await s.close();
  }
});
