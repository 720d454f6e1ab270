// The Kommo API v4 client behind CrmClient (core/crm/types.ts). A "method" is the HTTP verb and path,
// `GET /api/v4/contacts`, `POST /api/v4/calls`, `PATCH /api/v4/leads/12`; params are `{ query?, body? }`.
// Auth is the long-lived token as a Bearer header (never logged, never in an outcome). Requests go through
// the sliding-window limiter at crm.kommo.requests_per_second (7: Kommo's limit); a 429 pauses the limiter
// for a window. It never throws for CRM or network trouble and never retries on its own.
import type { AxiosInstance } from 'axios';
import axios from 'axios';
import type { Logger } from '../../log.js';
import { Redactor } from '../bitrix24/redact.js';
import { noAnswerOf } from '../bitrix24/transport.js';
import { httpsAgentFor } from '../tls.js';
import type { CrmClient, CrmOutcome, CrmPortalStatus, CrmRequestOptions, JsonParams, JsonValue } from '../types.js';
import { classifyKommoAnswer, classifyKommoNoAnswer } from './classify.js';
import { LimiterClosedError, SlidingWindowLimiter } from './limiter.js';
import { resolveKommoSettings, type KommoSettings } from './settings.js';

export interface KommoClientDeps {
  logger: Logger;
  /** crm.ca_file: extra CA certificates for the account's HTTPS. */
  caFile?: string;
  /** Margin added to the one-second window (network jitter between here and the account). Default 30 ms. */
  windowMarginMs?: number;
}

export interface KommoClient extends CrmClient {
  readonly crm: 'kommo';
  readonly account: string;
}

const METHOD = /^(GET|POST|PATCH) (\/api\/v4\/[A-Za-z0-9_/]+)$/;

function createHttp(caFile: string | undefined): AxiosInstance {
  const httpsAgent = httpsAgentFor(caFile);
  return axios.create({
    adapter: 'http',
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    validateStatus: () => true,
    maxRedirects: 0,
    headers: { 'User-Agent': 'callhook', Accept: 'application/hal+json, application/json' },
    ...(httpsAgent !== undefined ? { httpsAgent } : {}),
  });
}

function queryString(query: JsonValue | undefined): string {
  if (query === undefined || query === null || typeof query !== 'object' || Array.isArray(query)) return '';
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    // An array is the repeated key Kommo's filters take (filter[note_type][]=call_in&filter[note_type][]=call_out).
    for (const item of Array.isArray(v) ? v : [v]) if (item !== null && item !== undefined && typeof item !== 'object') sp.append(k, String(item));
  }
  const s = sp.toString();
  return s === '' ? '' : `?${s}`;
}

/** Throws KommoSettingsError (naming the key) for bad settings. */
export function createKommoClient(settings: KommoSettings, deps: KommoClientDeps): KommoClient {
  const resolved = resolveKommoSettings(settings);
  const redactor = new Redactor();
  redactor.add(resolved.token);
  const redact = (s: string): string => redactor.redact(s);
  const http = createHttp(deps.caFile);
  const logger = deps.logger.child({ crm: 'kommo', account: resolved.account });
  const limiter = new SlidingWindowLimiter(Math.max(1, Math.floor(resolved.requestsPerSecond)), resolved.requestsPerSecond >= 1 ? 1000 : 1000 / resolved.requestsPerSecond, deps.windowMarginMs ?? 30);
  let state: CrmPortalStatus['state'] = 'ok';
  let lastError: CrmPortalStatus['lastError'] = null;
  let stopped: CrmOutcome | null = null;
  let requests = 0;
  let closed = false;
  const inflight = new Set<Promise<CrmOutcome>>();
  const local = (code: string, description: string, kind: 'transient' | 'rejected' = 'transient'): CrmOutcome => (kind === 'rejected'
    ? { kind, status: null, snippet: '', durationMs: 0, code, description }
    : { kind, status: null, snippet: '', durationMs: 0, code, description, badAnswer: false, maybeDelivered: false });

  function record(outcome: CrmOutcome, method: string): CrmOutcome {
    const at = new Date().toISOString();
    if (outcome.kind === 'ok' || outcome.kind === 'rejected') {
      if (state !== 'stopped') {
        state = 'ok';
        lastError = null;
      }
      logger.debug({ method, kind: outcome.kind, status: outcome.status, ms: outcome.durationMs }, 'kommo request');
    } else if (outcome.kind === 'transient') {
      if (state !== 'stopped') state = 'failing';
      lastError = { code: outcome.code, description: outcome.description, at };
      logger.warn({ method, status: outcome.status, code: outcome.code, maybeDelivered: outcome.maybeDelivered, ms: outcome.durationMs }, `kommo request failed: ${outcome.description}`);
    } else if (stopped === null) {
      stopped = outcome;
      state = 'stopped';
      lastError = { code: outcome.code, description: outcome.description, at };
      logger.error({ method, status: outcome.status, code: outcome.code }, `kommo account stopped: ${outcome.description}`);
      limiter.close();
    }
    return outcome;
  }

  async function run(verb: string, path: string, method: string, params: JsonParams, options: CrmRequestOptions): Promise<CrmOutcome> {
    try {
      await limiter.acquire(options.priority ?? Date.now(), options.signal);
    } catch (error) {
      if (stopped !== null) return { ...stopped, durationMs: 0 };
      return error instanceof LimiterClosedError ? local('CLIENT_CLOSED', 'the client was closed before this request was sent') : local('ABORTED', 'aborted while waiting for the rate limiter (not sent)');
    }
    if (stopped !== null) return { ...stopped, durationMs: 0 };
    requests += 1;
    const started = performance.now();
    try {
      const r = await http.request<string>({
        method: verb,
        url: `${resolved.origin}${path}${queryString(params.query)}`,
        ...(verb !== 'GET' ? { data: JSON.stringify(params.body ?? null) } : {}),
        headers: { Authorization: `Bearer ${resolved.token}`, ...(verb !== 'GET' ? { 'Content-Type': 'application/json' } : {}) },
        timeout: resolved.timeoutMs,
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
      });
      const header = (name: string): string | undefined => {
        const v = (r.headers as Record<string, unknown>)[name];
        return typeof v === 'string' ? v : undefined;
      };
      const outcome = classifyKommoAnswer({
        status: r.status, body: typeof r.data === 'string' ? r.data : String(r.data ?? ''), contentType: header('content-type') ?? '', retryAfter: header('retry-after'),
        durationMs: Math.round(performance.now() - started),
      }, redact);
      if (outcome.kind === 'transient' && outcome.code === 'TOO_MANY_REQUESTS') limiter.pause(outcome.retryAfterMs ?? 1000);
      return record(outcome, method);
    } catch (error) {
      return record(classifyKommoNoAnswer(noAnswerOf(error, Math.round(performance.now() - started)), redact), method);
    }
  }

  return {
    crm: 'kommo',
    account: resolved.account,
    call(method, params, options = {}) {
      if (closed) return Promise.resolve(local('CLIENT_CLOSED', 'the client is closed'));
      if (stopped !== null) return Promise.resolve({ ...stopped, durationMs: 0 });
      const m = METHOD.exec(method);
      if (m === null) return Promise.resolve(record(local('INVALID_METHOD_NAME', `not a Kommo API v4 request ("GET|POST|PATCH /api/v4/..."): ${JSON.stringify(method.slice(0, 80))}`, 'rejected'), method));
      const p = run(m[1]!, m[2]!, method, params, options);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      return p;
    },
    status: () => ({ portal: resolved.account, state, lastError, requests, queued: limiter.queued }),
    async close() {
      closed = true;
      limiter.close();
      await Promise.allSettled([...inflight]);
    },
  };
}
