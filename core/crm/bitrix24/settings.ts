// The `crm.bitrix24` settings (types/settings/crm.schema.json) checked and resolved at client creation:
// a bad value stops start-up with an error naming the key, never a request that fails later. Error texts
// never contain a secret (the webhook code, the client secret, a token).
import type { CrmSettings } from '../../../types/settings.js';

export type Bitrix24Settings = CrmSettings['bitrix24'];

export class Bitrix24SettingsError extends Error {
  constructor(readonly key: string, problem: string) {
    super(`${key}: ${problem}`);
    this.name = 'Bitrix24SettingsError';
  }
}

export type ResolvedAuth =
  | { mode: 'webhook'; restBase: string; portal: string; code: string }
  | { mode: 'oauth'; restBase: string; portal: string; tokenUrl: string; clientId: string; clientSecret: string; refreshToken: string };

export interface ResolvedBitrix24 {
  auth: ResolvedAuth;
  requestsPerSecond: number;
  burst: number;
  timeoutMs: number;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** A URL check shared by every URL setting; `secret` keeps the value out of the message. */
function parseHttpUrl(key: string, value: string, secret: boolean): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Bitrix24SettingsError(key, secret ? 'not a valid URL' : `not a valid URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Bitrix24SettingsError(key, `must be an https:// URL (got ${url.protocol})`);
  if (url.protocol === 'http:' && !LOOPBACK.test(url.hostname)) {
    throw new Bitrix24SettingsError(key, 'must use https: over http the credentials would travel in clear text (http is accepted for 127.0.0.1/localhost only)');
  }
  if (url.username !== '' || url.password !== '') throw new Bitrix24SettingsError(key, 'must not contain a user name or password');
  if (url.search !== '' || url.hash !== '') throw new Bitrix24SettingsError(key, 'must not have a query (?…) or a fragment (#…)');
  return url;
}

function resolveWebhook(value: string): ResolvedAuth {
  const key = 'crm.bitrix24.webhook_url';
  const url = parseHttpUrl(key, value, true);
  const m = /^\/rest\/(\d+)\/([A-Za-z0-9]+)(\/.*)?$/.exec(url.pathname);
  if (m === null) {
    throw new Bitrix24SettingsError(key, `the path must be /rest/<user_id>/<code>/ as Bitrix24 shows it when the webhook is created (got a path of ${url.pathname.split('/').filter(Boolean).length} segment(s))`);
  }
  const rest = m[3] ?? '';
  if (rest !== '' && rest !== '/') {
    throw new Bitrix24SettingsError(key, `remove what follows the code (${JSON.stringify(rest.slice(1))}): the connector appends the method name itself`);
  }
  return { mode: 'webhook', restBase: `${url.origin}/rest/${m[1]}/${m[2]}/`, portal: url.host, code: m[2]! };
}

function resolveOAuth(o: Bitrix24Settings['oauth'], hasTokenStore: boolean): ResolvedAuth {
  const url = parseHttpUrl('crm.bitrix24.oauth.portal_url', o.portal_url, false);
  if (!/^\/(rest\/?)?$/.test(url.pathname)) {
    throw new Bitrix24SettingsError('crm.bitrix24.oauth.portal_url', `must be the portal's address, https://<portal>.bitrix24.<zone> (got the path ${JSON.stringify(url.pathname)})`);
  }
  if (o.client_id.trim() === '') throw new Bitrix24SettingsError('crm.bitrix24.oauth.client_id', 'required for OAuth (the application\'s client_id, e.g. local.5f…)');
  if (o.client_secret === '') throw new Bitrix24SettingsError('crm.bitrix24.oauth.client_secret', 'required for OAuth');
  if (o.refresh_token === '' && !hasTokenStore) {
    throw new Bitrix24SettingsError('crm.bitrix24.oauth.refresh_token', 'required for OAuth (the refresh token obtained at installation)');
  }
  const tokenUrl = parseHttpUrl('crm.bitrix24.oauth.token_url', o.token_url, false);
  return {
    mode: 'oauth', restBase: `${url.origin}/rest/`, portal: url.host, tokenUrl: tokenUrl.href,
    clientId: o.client_id.trim(), clientSecret: o.client_secret, refreshToken: o.refresh_token,
  };
}

export function resolveBitrix24Settings(s: Bitrix24Settings, options: { hasTokenStore: boolean }): ResolvedBitrix24 {
  const o = s.oauth;
  const oauthGiven = o.portal_url !== '' || o.client_id !== '' || o.client_secret !== '' || o.refresh_token !== '';
  let auth: ResolvedAuth;
  if (s.webhook_url.trim() !== '') {
    if (oauthGiven) throw new Bitrix24SettingsError('crm.bitrix24.webhook_url', 'crm.bitrix24.oauth is set too: use either an incoming webhook or an OAuth application, not both');
    auth = resolveWebhook(s.webhook_url.trim());
  } else if (oauthGiven) {
    auth = resolveOAuth(o, options.hasTokenStore);
  } else {
    throw new Bitrix24SettingsError('crm.bitrix24.webhook_url', 'empty, and crm.bitrix24.oauth is not set either: give the incoming webhook URL or the OAuth application (docs/bitrix24.md)');
  }
  if (!Number.isFinite(s.requests_per_second) || s.requests_per_second <= 0 || s.requests_per_second > 100) {
    throw new Bitrix24SettingsError('crm.bitrix24.requests_per_second', `must be a number above 0 and at most 100 (got ${s.requests_per_second})`);
  }
  if (!Number.isInteger(s.burst) || s.burst < 1 || s.burst > 1000) throw new Bitrix24SettingsError('crm.bitrix24.burst', `must be an integer from 1 to 1000 (got ${s.burst})`);
  if (!Number.isInteger(s.request_timeout_ms) || s.request_timeout_ms < 100 || s.request_timeout_ms > 120_000) {
    throw new Bitrix24SettingsError('crm.bitrix24.request_timeout_ms', `must be an integer from 100 to 120000 (got ${s.request_timeout_ms})`);
  }
  return { auth, requestsPerSecond: s.requests_per_second, burst: s.burst, timeoutMs: s.request_timeout_ms };
}
