// The `crm.kommo` settings (types/settings/crm.schema.json) checked at client creation: a bad value stops
// start-up with an error naming the key. Error texts never contain the token.
import type { CrmSettings } from '../../../types/settings.js';

export type KommoSettings = CrmSettings['kommo'];

export class KommoSettingsError extends Error {
  readonly code = 'KOMMO_SETTING_INVALID';
  constructor(readonly key: string, problem: string) {
    super(`${key}: ${problem}`);
    this.name = 'KommoSettingsError';
  }
}

export interface ResolvedKommo {
  /** https://<subdomain>.kommo.com (no trailing slash). */
  origin: string;
  /** The account host, as outbox entries and the status name it. */
  account: string;
  token: string;
  requestsPerSecond: number;
  timeoutMs: number;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;
const COMMON_HOSTS = /^(www\.)?(kommo\.com|amocrm\.ru|amocrm\.com)$/i;

export function resolveKommoSettings(s: KommoSettings): ResolvedKommo {
  let url: URL;
  try {
    url = new URL(s.base_url.trim());
  } catch {
    throw new KommoSettingsError('crm.kommo.base_url', `not a valid URL: ${JSON.stringify(s.base_url)} (expected https://<subdomain>.kommo.com)`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.test(url.hostname))) {
    throw new KommoSettingsError('crm.kommo.base_url', 'must be an https:// URL (Kommo serves HTTPS only; http is accepted for 127.0.0.1/localhost)');
  }
  if (COMMON_HOSTS.test(url.hostname)) throw new KommoSettingsError('crm.kommo.base_url', `${url.hostname} is the common domain: use your account's own address, https://<subdomain>.${url.hostname.replace(/^www\./, '')}`);
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new KommoSettingsError('crm.kommo.base_url', 'must be the account address only (no path, query, user or password): the connector appends /api/v4/… itself');
  }
  const token = s.long_lived_token.trim();
  if (token === '') throw new KommoSettingsError('crm.kommo.long_lived_token', 'empty: generate a long-lived token in the private integration\'s "Keys and scopes" (docs/kommo.md)');
  if (/\s/.test(token)) throw new KommoSettingsError('crm.kommo.long_lived_token', 'contains white space: paste the token exactly as Kommo showed it (without "Bearer ")');
  if (!Number.isFinite(s.requests_per_second) || s.requests_per_second <= 0 || s.requests_per_second > 7) {
    throw new KommoSettingsError('crm.kommo.requests_per_second', `must be above 0 and at most 7, Kommo's limit (got ${s.requests_per_second})`);
  }
  if (!Number.isInteger(s.request_timeout_ms) || s.request_timeout_ms < 100 || s.request_timeout_ms > 120_000) {
    throw new KommoSettingsError('crm.kommo.request_timeout_ms', `must be an integer from 100 to 120000 (got ${s.request_timeout_ms})`);
  }
  return { origin: url.origin, account: url.host, token, requestsPerSecond: s.requests_per_second, timeoutMs: s.request_timeout_ms };
}
