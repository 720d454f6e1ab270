// No secret (webhook code, client secret, access or refresh token) reaches the log, an outcome's
// description or snippet, or status(), even when the portal echoes one back. The logger writes to a
// buffer at the most verbose level; every scenario that touches a secret runs through it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBitrix24Client } from '../../core/crm/bitrix24/index.js';
import type { CrmOutcome } from '../../core/crm/types.js';
import { startLocalBitrix24 } from '../../core/demo-crm/bitrix24/index.js';
import { bitrixSettings, bufferLogger, memoryTokenStore } from './kit.js';

const users = [{ ID: 1, UF_PHONE_INNER: '200' }];

/** The outcome without `result` (an ok result is the CRM's payload as documented, see docs/bitrix24.md). */
function visible(o: CrmOutcome): string {
  const { ...rest } = o as CrmOutcome & { result?: unknown };
  delete rest.result;
  return JSON.stringify(rest);
}

test('webhook mode: the code never appears in logs, outcomes or status, even when an answer echoes the webhook URL', async () => {
  const s = await startLocalBitrix24({ users, limits: { enabled: false } });
  const code = s.webhookUrl.split('/')[5]!;
  const { logger, text } = bufferLogger('trace');
  const client = createBitrix24Client(await bitrixSettings(s, 'webhook', { request_timeout_ms: 300 }), { logger });
  const outcomes: CrmOutcome[] = [];
  try {
    outcomes.push(await client.call('user.get', {}));
    s.faults.set({ kind: 'status', status: 500, error: 'INTERNAL_SERVER_ERROR', description: `failed at ${s.webhookUrl}user.get`, times: 1 });
    outcomes.push(await client.call('user.get', {}));
    s.faults.set({ kind: 'error-in-200', description: `code ${code} is wrong`, times: 1 });
    outcomes.push(await client.call('user.get', {}));
    s.faults.set({ kind: 'stall', times: 1 });
    outcomes.push(await client.call('user.get', {}));
    s.faults.set({ kind: 'drop', times: 1 });
    outcomes.push(await client.call('user.get', {}));
    const echoed = outcomes.filter((o) => o.kind === 'transient' && o.snippet !== '');
    assert.ok(echoed.length >= 2 && echoed.every((o) => o.snippet.includes('[redacted]')), 'the echoed secret was replaced, not dropped');
    for (const o of outcomes) assert.ok(!visible(o).includes(code), visible(o));
    assert.ok(!JSON.stringify(client.status()).includes(code));
    const log = text();
    assert.ok(log.length > 0, 'the scenario logged');
    assert.ok(!log.includes(code), 'the webhook code is in the log');
  } finally {
    await client.close();
    await s.close();
  }
});

test('OAuth mode: the client secret and every access/refresh token stay out of logs, outcomes and status', async () => {
  const s = await startLocalBitrix24({ users, limits: { enabled: false }, oauth: { accessTokenLifetimeMs: 60_000 } });
  const { logger, text } = bufferLogger('trace');
  const store = memoryTokenStore();
  const client = createBitrix24Client(await bitrixSettings(s, 'oauth'), { logger, tokenStore: store });
  const outcomes: CrmOutcome[] = [];
  try {
    outcomes.push(await client.call('user.get', {}));
    s.expireAccessTokens();
    outcomes.push(await client.call('user.get', {})); // expired_token → refresh → retry
    const reg = await client.call('telephony.externalcall.register', { USER_ID: 1, PHONE_NUMBER: '5551', TYPE: 2 });
    const callId = reg.kind === 'ok' ? (reg.result as { CALL_ID: string }).CALL_ID : '';
    await client.call('telephony.externalcall.finish', { CALL_ID: callId, USER_ID: 1, DURATION: 3 });
    // The uploadUrl answer carries the access token (auth=…): its snippet must not.
    const upload = await client.call('telephony.externalcall.attachRecord', { CALL_ID: callId, FILENAME: 'r.mp3' });
    outcomes.push(upload);
    assert.equal(upload.kind, 'ok');
    assert.match(upload.snippet, /auth=\[redacted\]/);
    const token = store.saved[store.saved.length - 1]!.accessToken;
    s.faults.set({ kind: 'status', status: 500, description: `token ${token} rejected`, times: 1 });
    outcomes.push(await client.call('user.get', {}));
    s.faults.set({ kind: 'status', method: 'oauth/token', status: 500, description: `secret ${s.oauth.clientSecret}`, times: 1 });
    s.expireAccessTokens();
    outcomes.push(await client.call('user.get', {}));
    s.revokeRefreshTokens();
    await new Promise((r) => setTimeout(r, 5100)); // past the refresh backoff
    outcomes.push(await client.call('user.get', {})); // invalid_grant → stopped

    const secrets = [s.oauth.clientSecret, s.oauth.refreshToken, ...store.saved.flatMap((t) => [t.accessToken, t.refreshToken])];
    assert.ok(secrets.length >= 6);
    const log = text();
    for (const secret of secrets) {
      assert.ok(!log.includes(secret), 'a secret is in the log');
      for (const o of outcomes) assert.ok(!visible(o).includes(secret), `a secret in ${visible(o)}`);
      assert.ok(!JSON.stringify(client.status()).includes(secret));
    }
    assert.equal(outcomes[outcomes.length - 1]!.kind, 'stopped');
  } finally {
    await client.close();
    await s.close();
  }
});
