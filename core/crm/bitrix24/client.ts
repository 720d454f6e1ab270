// The Bitrix24 REST client behind CrmClient (core/crm/types.ts): auth (incoming webhook or OAuth),
// the per-portal priority token bucket, and the classification of every answer. It never throws for CRM
// or network trouble, never retries on its own except once after an OAuth refresh (a 401 expired_token
// means the request did not run), and never logs or returns a secret.
import type { Logger } from '../../log.js';
import type { CrmClient, CrmOutcome, CrmPortalStatus, CrmRequestOptions, JsonParams, TokenStore } from '../types.js';
import { classifyHttpAnswer, classifyNoAnswer, TOKEN_CODES } from './classify.js';
import { capacityFor, LimiterClosedError, PriorityTokenBucket } from './limiter.js';
import { OAuthSession } from './oauth.js';
import { Redactor } from './redact.js';
import { resolveBitrix24Settings, type Bitrix24Settings } from './settings.js';
import { createHttp, noAnswerOf } from './transport.js';

export interface Bitrix24ClientDeps {
  logger: Logger;
  /** Where the rotated OAuth tokens are kept (the connector store). Without it a restart loses the newest refresh token. */
  tokenStore?: TokenStore;
  /** crm.ca_file: extra CA certificates for the portal's HTTPS. */
  caFile?: string;
}

export interface Bitrix24Client extends CrmClient {
  readonly crm: 'bitrix24';
  readonly mode: 'webhook' | 'oauth';
}

const METHOD_NAME = /^[A-Za-z][A-Za-z0-9_.]*$/;
/** 429 OPERATION_TIME_LIMIT without time.operating_reset_at: the budget's buckets are one minute long. */
const OPERATING_RETRY_MS = 60_000;

/** Throws Bitrix24SettingsError (naming the key) for bad settings; see settings.ts. */
export function createBitrix24Client(settings: Bitrix24Settings, deps: Bitrix24ClientDeps): Bitrix24Client {
  const resolved = resolveBitrix24Settings(settings, { hasTokenStore: deps.tokenStore !== undefined });
  const { auth } = resolved;
  const redactor = new Redactor();
  if (auth.mode === 'webhook') redactor.add(auth.code);
  const redact = (s: string) => redactor.redact(s);
  const http = createHttp(deps.caFile);
  const logger = deps.logger.child({ crm: 'bitrix24', portal: auth.portal });
  const capacity = capacityFor(resolved.burst);
  const limiter = new PriorityTokenBucket(resolved.requestsPerSecond, capacity);
  const oauth = auth.mode === 'oauth'
    ? new OAuthSession(
      { portal: auth.portal, tokenUrl: auth.tokenUrl, clientId: auth.clientId, clientSecret: auth.clientSecret, refreshToken: auth.refreshToken, timeoutMs: resolved.timeoutMs },
      http, redactor, logger, deps.tokenStore,
    )
    : null;

  let state: CrmPortalStatus['state'] = 'ok';
  let lastError: CrmPortalStatus['lastError'] = null;
  let stopped: CrmOutcome | null = null;
  let requests = 0;
  let closed = false;
  const inflight = new Set<Promise<CrmOutcome>>();

  const local = (code: string, description: string, maybeDelivered = false): CrmOutcome => ({
    kind: 'transient', status: null, snippet: '', durationMs: 0, code, description, badAnswer: false, maybeDelivered,
  });

  function record(outcome: CrmOutcome, method: string): CrmOutcome {
    const at = new Date().toISOString();
    switch (outcome.kind) {
      case 'ok':
      case 'rejected':
        if (state !== 'stopped') {
          state = 'ok';
          lastError = null;
        }
        logger.debug({ method, kind: outcome.kind, status: outcome.status, ms: outcome.durationMs, ...(outcome.kind === 'rejected' ? { code: outcome.code } : {}) }, 'bitrix24 request');
        break;
      case 'transient':
        if (state !== 'stopped') state = 'failing';
        lastError = { code: outcome.code, description: outcome.description, at };
        logger.warn({ method, status: outcome.status, code: outcome.code, badAnswer: outcome.badAnswer, maybeDelivered: outcome.maybeDelivered, ms: outcome.durationMs }, `bitrix24 request failed: ${outcome.description}`);
        break;
      case 'stopped':
        if (stopped === null) {
          stopped = outcome;
          state = 'stopped';
          lastError = { code: outcome.code, description: outcome.description, at };
          logger.error({ method, status: outcome.status, code: outcome.code }, `bitrix24 portal stopped: ${outcome.description}`);
          // Everyone still waiting for the limiter answers `stopped` now, not at the drain rate.
          limiter.close();
        }
        break;
    }
    return outcome;
  }

  async function send(method: string, params: JsonParams, token: string | null, signal: AbortSignal | undefined): Promise<CrmOutcome> {
    const body = token === null ? params : { ...params, auth: token };
    requests += 1;
    const started = performance.now();
    try {
      const r = await http.post<string>(`${auth.restBase}${method}.json`, JSON.stringify(body), {
        headers: { 'Content-Type': 'application/json' }, timeout: resolved.timeoutMs, signal,
      });
      const text = typeof r.data === 'string' ? r.data : String(r.data ?? '');
      const outcome = classifyHttpAnswer({ status: r.status, body: text, durationMs: Math.round(performance.now() - started) }, { mode: auth.mode, redact });
      if (outcome.kind === 'transient' && outcome.code === 'OPERATION_TIME_LIMIT') outcome.retryAfterMs = operatingRetryMs(text);
      return outcome;
    } catch (error) {
      return classifyNoAnswer(noAnswerOf(error, Math.round(performance.now() - started)), redact);
    }
  }

  async function run(method: string, params: JsonParams, options: CrmRequestOptions): Promise<CrmOutcome> {
    const priority = options.priority ?? Date.now();
    let refreshedOnce = false;
    for (;;) {
      try {
        await limiter.acquire(priority, options.signal);
      } catch (error) {
        if (stopped !== null) return { ...stopped, durationMs: 0 };
        if (error instanceof LimiterClosedError) return local('CLIENT_CLOSED', 'the client was closed before this request was sent');
        return local('ABORTED', 'aborted while waiting for the rate limiter (not sent)');
      }
      if (stopped !== null) return { ...stopped, durationMs: 0 };
      let token: string | null = null;
      if (oauth !== null) {
        const t = await oauth.accessToken();
        if (!t.ok) return record(t.outcome, method);
        token = t.accessToken;
      }
      const outcome = await send(method, params, token, options.signal);
      if (oauth !== null && token !== null && outcome.kind === 'transient' && TOKEN_CODES.has(outcome.code)) {
        if (refreshedOnce) {
          // A token the endpoint has just issued is refused too: refreshing again would loop.
          return record(oauth.stop(outcome.code, `the portal refuses an access token just issued by the token endpoint (${outcome.code}): crm.bitrix24.oauth.portal_url is probably not the application's portal`), method);
        }
        const t = await oauth.rejected(token);
        if (!t.ok) return record(t.outcome, method);
        refreshedOnce = true;
        continue; // the request did not run (401): send it again, through the limiter like any request
      }
      if (outcome.kind === 'transient' && outcome.code === 'QUERY_LIMIT_EXCEEDED') {
        // The portal's counter is at its threshold: drain the local bucket into debt (the margin plus one).
        outcome.retryAfterMs = limiter.penalize(resolved.burst - capacity + 1);
      }
      return record(outcome, method);
    }
  }

  return {
    crm: 'bitrix24',
    mode: auth.mode,
    call(method, params, options = {}) {
      if (closed) return Promise.resolve(local('CLIENT_CLOSED', 'the client is closed'));
      if (stopped !== null) return Promise.resolve({ ...stopped, durationMs: 0 });
      if (oauth?.stopped) return Promise.resolve(record(oauth.stopped, method));
      if (!METHOD_NAME.test(method)) {
        return Promise.resolve(record({ kind: 'rejected', status: null, snippet: '', durationMs: 0, code: 'INVALID_METHOD_NAME', description: `not a Bitrix24 method name: ${JSON.stringify(method.slice(0, 80))}` }, method));
      }
      const p = run(method, params, options);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      return p;
    },
    status: () => ({ portal: auth.portal, state, lastError: lastError === null ? null : { ...lastError }, requests, queued: limiter.queued }),
    async close() {
      closed = true;
      limiter.close();
      await Promise.allSettled([...inflight]);
    },
  };
}

/** The wait a 429 announces: until time.operating_reset_at when the answer has it. */
function operatingRetryMs(body: string): number {
  try {
    const parsed = JSON.parse(body) as { time?: { operating_reset_at?: unknown } };
    const at = Number(parsed.time?.operating_reset_at);
    if (Number.isFinite(at) && at > 0) return Math.max(1000, at * 1000 - Date.now());
  } catch {
    // not JSON: the default below
  }
  return OPERATING_RETRY_MS;
}
