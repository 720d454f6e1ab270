// The Bitrix24 client's two auth modes against the local portal over real HTTP: webhook calls and the
// portal-stopping webhook errors; OAuth refresh before expiry and on expired_token, rotation saved through
// the TokenStore (a restart uses the newest refresh token), and a refused refresh → `stopped` at once for
// every later call, with no retry loop (counted on the server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBitrix24Client } from '../../core/crm/bitrix24/index.js';
import type { CrmOutcome } from '../../core/crm/types.js';
import { startLocalBitrix24, type LocalBitrix24 } from '../../core/demo-crm/bitrix24/index.js';
import { bitrixSettings, bufferLogger, memoryTokenStore, sleep } from './kit.js';

const users = [{ ID: 1, NAME: 'Alice', UF_PHONE_INNER: '200' }];
const { logger } = bufferLogger('silent');
const start = (extra: Parameters<typeof startLocalBitrix24>[0] = {}) => startLocalBitrix24({ users, limits: { enabled: false }, ...extra });
const tokenRequests = (s: LocalBitrix24) => s.received.filter((r) => r.endpoint === 'oauth/token').length;
const restRequests = (s: LocalBitrix24) => s.received.filter((r) => r.endpoint === 'rest').length;

function assertKind<K extends CrmOutcome['kind']>(o: CrmOutcome, kind: K): asserts o is Extract<CrmOutcome, { kind: K }> {
  assert.equal(o.kind, kind, JSON.stringify(o));
}

test('webhook mode: calls go to <webhook>/<method>.json and answer ok with the documented result', async () => {
  const s = await start();
  const client = createBitrix24Client(await bitrixSettings(s, 'webhook'), { logger });
  try {
    const o = await client.call('user.get', { FILTER: { UF_PHONE_INNER: '200' } });
    assertKind(o, 'ok');
    assert.equal((o.result as { ID: string }[])[0]!.ID, '1');
    assert.equal(o.status, 200);
    assert.ok(o.snippet.startsWith('{"result":['));
    assert.deepEqual(s.received.map((r) => [r.method, r.auth]), [['user.get', 'webhook']]);
    assert.deepEqual(client.status(), { portal: new URL(s.url).host, state: 'ok', lastError: null, requests: 1, queued: 0 });
  } finally {
    await client.close();
    await s.close();
  }
});

test('webhook: a wrong code (NO_AUTH_FOUND) or a missing scope (insufficient_scope) stops the portal; later calls answer stopped without a request', async () => {
  for (const [patch, code] of [[{ wrongCode: true }, 'NO_AUTH_FOUND'], [{ scopes: ['user'] as const }, 'insufficient_scope']] as const) {
    const s = await start('scopes' in patch ? { webhook: { scopes: [...patch.scopes] } } : {});
    const url = 'wrongCode' in patch ? s.webhookUrl.replace(/\/[0-9a-f]+\/$/, '/0000000000000000/') : s.webhookUrl;
    const client = createBitrix24Client(await bitrixSettings(s, 'webhook', { webhook_url: url }), { logger });
    try {
      const first = await client.call('telephony.externalcall.register', { USER_ID: 1, PHONE_NUMBER: '555', TYPE: 2 });
      assertKind(first, 'stopped');
      assert.equal(first.code, code);
      const sent = restRequests(s);
      const later = await Promise.all([client.call('user.get', {}), client.call('telephony.externalcall.finish', { CALL_ID: 'x' })]);
      for (const o of later) {
        assertKind(o, 'stopped');
        assert.equal(o.code, code);
      }
      assert.equal(restRequests(s), sent, 'no request after the stop');
      assert.equal(client.status().state, 'stopped');
      assert.equal(client.status().lastError?.code, code);
    } finally {
      await client.close();
      await s.close();
    }
  }
});

test('OAuth: the first call refreshes, the rotated refresh token is saved through the TokenStore, a restart uses it', async () => {
  const s = await start();
  const store = memoryTokenStore();
  const settings = await bitrixSettings(s, 'oauth');
  const client = createBitrix24Client(settings, { logger, tokenStore: store });
  try {
    assertKind(await client.call('user.get', {}), 'ok');
    assertKind(await client.call('user.get', {}), 'ok');
    assert.equal(tokenRequests(s), 1, 'one refresh for two calls');
    assert.equal(store.saved.length, 1);
    assert.equal(store.saved[0]!.portal, new URL(s.url).host);
    assert.notEqual(store.saved[0]!.refreshToken, s.oauth.refreshToken, 'rotated');
    assert.ok(store.saved[0]!.expiresAt > Date.now());
    assert.deepEqual(s.received.filter((r) => r.endpoint === 'rest').map((r) => r.auth), ['oauth', 'oauth']);
  } finally {
    await client.close();
  }
  // A restart: the settings still hold the installation's (now spent) refresh token; the store has the newest.
  s.expireAccessTokens();
  const restarted = createBitrix24Client(settings, { logger, tokenStore: store });
  try {
    assertKind(await restarted.call('user.get', {}), 'ok');
    assert.equal(store.saved.length, 2, 'expired stored access token → refreshed with the stored refresh token');
  } finally {
    await restarted.close();
  }
  // Without the store the spent refresh token is refused: that is why the store exists.
  const forgetful = createBitrix24Client(settings, { logger });
  try {
    const o = await forgetful.call('user.get', {});
    assertKind(o, 'stopped');
    assert.equal(o.code, 'invalid_grant');
  } finally {
    await forgetful.close();
    await s.close();
  }
});

test('OAuth: the access token is refreshed before it expires, and after an expired_token answer the call is sent once more and succeeds', async () => {
  const s = await start({ oauth: { accessTokenLifetimeMs: 2000 } });
  const store = memoryTokenStore();
  const client = createBitrix24Client(await bitrixSettings(s, 'oauth'), { logger, tokenStore: store });
  try {
    assertKind(await client.call('user.get', {}), 'ok');
    // expires_in = 2 s: refreshed 0.5 s early, so a call at 1.6 s already uses a new token and never sees expired_token.
    await sleep(1600);
    assertKind(await client.call('user.get', {}), 'ok');
    assert.equal(tokenRequests(s), 2);
    assert.ok(!s.received.some((r) => r.error?.error === 'expired_token'));
    // The portal expires tokens early (reinstall, clock): expired_token → one refresh → the same call again.
    s.expireAccessTokens();
    const o = await client.call('telephony.externalcall.register', { USER_ID: 1, PHONE_NUMBER: '5551', TYPE: 2 });
    assertKind(o, 'ok');
    assert.equal(s.state.calls.size, 1);
    assert.deepEqual(s.received.filter((r) => r.method === 'telephony.externalcall.register').map((r) => r.error?.error ?? 'ok'), ['expired_token', 'ok']);
    assert.equal(tokenRequests(s), 3);
    assert.equal(store.saved.length, 3, 'every rotation is saved');
    assert.equal(client.status().state, 'ok');
  } finally {
    await client.close();
    await s.close();
  }
});

test('OAuth: concurrent calls with an expired token share one refresh', async () => {
  const s = await start();
  const client = createBitrix24Client(await bitrixSettings(s, 'oauth'), { logger, tokenStore: memoryTokenStore() });
  try {
    assertKind(await client.call('user.get', {}), 'ok');
    s.expireAccessTokens();
    const all = await Promise.all(Array.from({ length: 8 }, () => client.call('user.get', {})));
    for (const o of all) assertKind(o, 'ok');
    assert.equal(tokenRequests(s), 2, 'one refresh at start, one for all eight');
  } finally {
    await client.close();
    await s.close();
  }
});

test('OAuth: a refresh refused with invalid_grant stops the portal with a clear status; every later call answers stopped at once (no loop)', async () => {
  const s = await start();
  const client = createBitrix24Client(await bitrixSettings(s, 'oauth'), { logger, tokenStore: memoryTokenStore() });
  try {
    assertKind(await client.call('user.get', {}), 'ok');
    s.revokeRefreshTokens();
    s.expireAccessTokens();
    const o = await client.call('telephony.externalcall.register', { USER_ID: 1, PHONE_NUMBER: '5551', TYPE: 2 });
    assertKind(o, 'stopped');
    assert.equal(o.code, 'invalid_grant');
    assert.match(o.description, /reinstall the application or put a new refresh token in crm\.bitrix24\.oauth\.refresh_token/);
    const [tokens, rest] = [tokenRequests(s), restRequests(s)];
    const t0 = performance.now();
    const later = await Promise.all(Array.from({ length: 20 }, () => client.call('user.get', {})));
    assert.ok(performance.now() - t0 < 1000, 'answered at once');
    for (const x of later) assertKind(x, 'stopped');
    assert.deepEqual([tokenRequests(s), restRequests(s)], [tokens, rest], 'no request at all after the stop');
    const status = client.status();
    assert.equal(status.state, 'stopped');
    assert.equal(status.lastError?.code, 'invalid_grant');
  } finally {
    await client.close();
    await s.close();
  }
});

test('OAuth: bad client credentials (invalid_client) stop the portal and name the settings to check', async () => {
  const s = await start();
  const client = createBitrix24Client(await bitrixSettings(s, 'oauth', {}), { logger });
  const bad = createBitrix24Client({ ...(await bitrixSettings(s, 'oauth')), oauth: { ...(await bitrixSettings(s, 'oauth')).oauth, client_secret: 'wrong-secret-1234' } }, { logger });
  try {
    const o = await bad.call('user.get', {});
    assertKind(o, 'stopped');
    assert.equal(o.code, 'invalid_client');
    assert.match(o.description, /crm\.bitrix24\.oauth\.client_id and client_secret/);
    assertKind(await client.call('user.get', {}), 'ok');
  } finally {
    await client.close();
    await bad.close();
    await s.close();
  }
});

test('OAuth: the token endpoint failing transiently (500) is transient, not a stop, and is retried at most once per backoff', async () => {
  const s = await start();
  const client = createBitrix24Client(await bitrixSettings(s, 'oauth'), { logger, tokenStore: memoryTokenStore() });
  try {
    s.faults.set({ kind: 'status', method: 'oauth/token', status: 500 });
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => client.call('user.get', {})));
    outcomes.push(await client.call('user.get', {}));
    for (const o of outcomes) {
      assertKind(o, 'transient');
      assert.match(o.code, /^OAUTH_/);
      assert.equal(o.maybeDelivered, false);
    }
    assert.equal(tokenRequests(s), 1, 'six calls, one refresh attempt');
    assert.equal(restRequests(s), 0);
    assert.equal(client.status().state, 'failing');
  } finally {
    await client.close();
    await s.close();
  }
});

test('OAuth: a portal that refuses even a just-issued token (wrong portal_url for the app) is stopped after one refresh, not looped', async () => {
  const tokens = await start();
  const other = await start();
  const settings = await bitrixSettings(tokens, 'oauth');
  const client = createBitrix24Client({ ...settings, oauth: { ...settings.oauth, portal_url: other.url } }, { logger, tokenStore: memoryTokenStore() });
  try {
    const o = await client.call('user.get', {});
    assertKind(o, 'stopped');
    assert.equal(o.code, 'invalid_token');
    assert.match(o.description, /portal_url is probably not the application's portal/);
    assert.equal(tokenRequests(tokens), 2);
    assert.equal(restRequests(other), 2);
    assertKind(await client.call('user.get', {}), 'stopped');
    assert.equal(restRequests(other), 2);
  } finally {
    await client.close();
    await tokens.close();
    await other.close();
  }
});
