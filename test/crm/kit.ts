// Shared helpers of the CRM tests: plain HTTP calls to the local Bitrix24 portal (independent of the
// adapter under test), a logger writing to a buffer, and a TokenStore in memory.
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../core/log.js';
import type { JsonValue, TokenStore } from '../../core/crm/types.js';
import type { LocalBitrix24 } from '../../core/demo-crm/bitrix24/index.js';
import type { Bitrix24Settings } from '../../core/crm/bitrix24/index.js';
import { loadSettings } from '../../core/settings/index.js';

export interface RawAnswer {
  status: number;
  text: string;
  json: { [key: string]: unknown } | null;
  contentType: string;
}

export type Body = { [key: string]: unknown };

/** A REST call as a plain client would make it. `auth`: 'webhook' (the server's webhook URL) or an access token. */
export async function rest(
  server: LocalBitrix24,
  method: string,
  params: Body = {},
  opts: { auth?: 'webhook' | { token: string }; http?: 'POST' | 'GET'; form?: string; signal?: AbortSignal } = {},
): Promise<RawAnswer> {
  const auth = opts.auth ?? 'webhook';
  const base = auth === 'webhook' ? server.webhookUrl : `${server.url}/rest/`;
  const withAuth = auth === 'webhook' ? params : { ...params, auth: auth.token };
  let response: Response;
  if (opts.http === 'GET') {
    const q = opts.form ?? new URLSearchParams(Object.entries(withAuth).map(([k, v]): [string, string] => [k, String(v)])).toString();
    response = await fetch(`${base}${method}${q === '' ? '' : `?${q}`}`, { signal: opts.signal });
  } else if (opts.form !== undefined) {
    const form = auth === 'webhook' ? opts.form : `${opts.form}&auth=${encodeURIComponent(auth.token)}`;
    response = await fetch(`${base}${method}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form, signal: opts.signal });
  } else {
    response = await fetch(`${base}${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(withAuth), signal: opts.signal });
  }
  const text = await response.text();
  let json: RawAnswer['json'] = null;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) json = parsed as RawAnswer['json'];
  } catch {
    json = null;
  }
  return { status: response.status, text, json, contentType: response.headers.get('content-type') ?? '' };
}

/** The `result` of a successful call (fails the test with the answer when it is not one). */
export async function ok<T = JsonValue>(server: LocalBitrix24, method: string, params: Body = {}, opts: Parameters<typeof rest>[3] = {}): Promise<T> {
  const a = await rest(server, method, params, opts);
  if (a.status !== 200 || a.json === null || !('result' in a.json)) throw new Error(`${method}: expected a result, got ${a.status} ${a.text}`);
  return a.json['result'] as T;
}

export async function token(server: LocalBitrix24, refreshToken = server.oauth.refreshToken): Promise<{ status: number; body: Body }> {
  const q = new URLSearchParams({ grant_type: 'refresh_token', client_id: server.oauth.clientId, client_secret: server.oauth.clientSecret, refresh_token: refreshToken });
  const r = await fetch(`${server.oauth.tokenUrl}?${q}`);
  return { status: r.status, body: (await r.json()) as Body };
}

/** A logger that writes JSON lines into `lines` (for "no secret in the logs" assertions). */
export function bufferLogger(level = 'trace'): { logger: Logger; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger({ level, destination: sink }), text: () => chunks.join('') };
}

export function memoryTokenStore(initial?: { accessToken: string; refreshToken: string; expiresAt: number }): TokenStore & {
  saved: { portal: string; refreshToken: string; accessToken: string; expiresAt: number }[];
} {
  let current = initial ?? null;
  const saved: { portal: string; refreshToken: string; accessToken: string; expiresAt: number }[] = [];
  return {
    saved,
    async load() {
      return current;
    },
    async save(portal, tokens) {
      current = { ...tokens };
      saved.push({ portal, ...tokens });
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Base64 of a small fake recording. */
export const RECORDING = Buffer.from('RIFF....WAVEfmt fake recording').toString('base64');

/** `crm.bitrix24` with its defaults, pointed at the local portal (webhook or OAuth), with overrides. */
export async function bitrixSettings(server: LocalBitrix24, mode: 'webhook' | 'oauth', patch: Partial<Bitrix24Settings> = {}): Promise<Bitrix24Settings> {
  const defaults = (await loadSettings()).crm.bitrix24;
  const auth: Partial<Bitrix24Settings> = mode === 'webhook'
    ? { webhook_url: server.webhookUrl }
    : { oauth: { portal_url: server.oauth.portalUrl, token_url: server.oauth.tokenUrl, client_id: server.oauth.clientId, client_secret: server.oauth.clientSecret, refresh_token: server.oauth.refreshToken } };
  return { ...defaults, requests_per_second: 50, burst: 100, ...auth, ...patch };
}
