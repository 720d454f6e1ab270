// createBitrix24Client checks `crm.bitrix24` at creation: each bad value throws an error naming its key,
// and no message repeats a secret (the webhook code, the client secret, a token).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBitrix24Client, Bitrix24SettingsError, type Bitrix24Settings } from '../../core/crm/bitrix24/index.js';
import { loadSettings } from '../../core/settings/index.js';
import { bufferLogger, memoryTokenStore } from './kit.js';

const defaults = (await loadSettings()).crm.bitrix24;
const CODE = 'abcd1234efgh5678';
const SECRET = 'client-secret-value-xyz';
const with_ = (patch: Partial<Bitrix24Settings>, oauth: Partial<Bitrix24Settings['oauth']> = {}): Bitrix24Settings => ({ ...defaults, ...patch, oauth: { ...defaults.oauth, ...oauth } });
const { logger } = bufferLogger();

function refuses(settings: Bitrix24Settings, key: string, pattern: RegExp, store = false): void {
  assert.throws(
    () => createBitrix24Client(settings, { logger, ...(store ? { tokenStore: memoryTokenStore() } : {}) }),
    (error: unknown) => {
      assert.ok(error instanceof Bitrix24SettingsError, String(error));
      assert.equal(error.key, key);
      assert.ok(error.message.startsWith(`${key}: `), error.message);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes(CODE) && !error.message.includes(SECRET), `secret in: ${error.message}`);
      return true;
    },
  );
}

test('the webhook URL must be https (http only on loopback) with the path /rest/<user_id>/<code>/ and nothing after it', () => {
  refuses(with_({ webhook_url: `ftp://portal.bitrix24.ru/rest/1/${CODE}/` }), 'crm.bitrix24.webhook_url', /https:\/\/ URL/);
  refuses(with_({ webhook_url: `http://portal.bitrix24.ru/rest/1/${CODE}/` }), 'crm.bitrix24.webhook_url', /clear text/);
  refuses(with_({ webhook_url: `portal.bitrix24.ru/rest/1/${CODE}/` }), 'crm.bitrix24.webhook_url', /not a valid URL/);
  refuses(with_({ webhook_url: 'https://portal.bitrix24.ru/' }), 'crm.bitrix24.webhook_url', /\/rest\/<user_id>\/<code>\//);
  refuses(with_({ webhook_url: `https://portal.bitrix24.ru/rest/x/${CODE}/` }), 'crm.bitrix24.webhook_url', /\/rest\/<user_id>\/<code>\//);
  refuses(with_({ webhook_url: `https://portal.bitrix24.ru/rest/1/${CODE}/profile.json` }), 'crm.bitrix24.webhook_url', /remove what follows the code \("profile\.json"\)/);
  refuses(with_({ webhook_url: `https://portal.bitrix24.ru/rest/1/${CODE}/?x=1` }), 'crm.bitrix24.webhook_url', /query/);
  refuses(with_({ webhook_url: `https://u:p@portal.bitrix24.ru/rest/1/${CODE}/` }), 'crm.bitrix24.webhook_url', /user name or password/);
  refuses(with_({ webhook_url: `https://portal.bitrix24.ru/rest/1/${CODE}/` }, { client_id: 'x' }), 'crm.bitrix24.webhook_url', /not both/);
  for (const ok of [`https://portal.bitrix24.ru/rest/1/${CODE}/`, `https://portal.bitrix24.ru/rest/1/${CODE}`, `http://127.0.0.1:8080/rest/7/${CODE}/`]) {
    const client = createBitrix24Client(with_({ webhook_url: ok }), { logger });
    assert.equal(client.mode, 'webhook');
    assert.ok(!client.status().portal.includes(CODE));
  }
});

test('neither auth mode set is an error; OAuth needs portal_url, client_id, client_secret and a refresh token (or a token store)', () => {
  refuses(with_({}), 'crm.bitrix24.webhook_url', /crm\.bitrix24\.oauth is not set either/);
  const oauth = { portal_url: 'https://portal.bitrix24.ru', client_id: 'local.1', client_secret: SECRET, refresh_token: 'r-token-123456' };
  refuses(with_({}, { ...oauth, portal_url: 'https://portal.bitrix24.ru/crm/' }), 'crm.bitrix24.oauth.portal_url', /portal's address/);
  refuses(with_({}, { ...oauth, portal_url: 'http://portal.bitrix24.ru' }), 'crm.bitrix24.oauth.portal_url', /clear text/);
  refuses(with_({}, { ...oauth, client_id: ' ' }), 'crm.bitrix24.oauth.client_id', /required/);
  refuses(with_({}, { ...oauth, client_secret: '' }), 'crm.bitrix24.oauth.client_secret', /required/);
  refuses(with_({}, { ...oauth, refresh_token: '' }), 'crm.bitrix24.oauth.refresh_token', /required/);
  refuses(with_({}, { ...oauth, token_url: 'not a url' }), 'crm.bitrix24.oauth.token_url', /not a valid URL/);
  assert.equal(createBitrix24Client(with_({}, { ...oauth, refresh_token: '' }), { logger, tokenStore: memoryTokenStore() }).mode, 'oauth', 'the store may hold the refresh token');
  const client = createBitrix24Client(with_({}, { ...oauth, portal_url: 'https://portal.bitrix24.ru/rest/' }), { logger });
  assert.deepEqual([client.mode, client.status().portal], ['oauth', 'portal.bitrix24.ru']);
});

test('the limiter and timeout settings are range-checked with their key', () => {
  const hook = { webhook_url: `https://portal.bitrix24.ru/rest/1/${CODE}/` };
  refuses(with_({ ...hook, requests_per_second: 0 }), 'crm.bitrix24.requests_per_second', /above 0/);
  refuses(with_({ ...hook, requests_per_second: Number.NaN }), 'crm.bitrix24.requests_per_second', /above 0/);
  refuses(with_({ ...hook, burst: 0 }), 'crm.bitrix24.burst', /1 to 1000/);
  refuses(with_({ ...hook, burst: 2.5 }), 'crm.bitrix24.burst', /1 to 1000/);
  refuses(with_({ ...hook, request_timeout_ms: 5 }), 'crm.bitrix24.request_timeout_ms', /100 to 120000/);
});
