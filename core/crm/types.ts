// What the pipeline and the outbox need from a CRM adapter, and nothing more. One adapter per CRM
// (core/crm/bitrix24, later core/crm/kommo) sits behind these shapes; the pipeline never sees HTTP,
// auth, tokens or rate limits, and an adapter never decides what to send or when to give up (the
// outbox's retry policy does, from the outcome's kind).
import type { JsonValue } from '../../hooks/engine.js';

export type { JsonValue };
export type JsonParams = { [key: string]: JsonValue };

/** The first bytes of an answer as received, kept on the outbox action (never a secret: URLs and tokens are not in it). */
export const ANSWER_SNIPPET_BYTES = 512;

interface OutcomeBase {
  /** HTTP status, or null when no HTTP answer arrived (timeout, refused, reset). */
  status: number | null;
  /** The answer's first ANSWER_SNIPPET_BYTES characters ('' when none). */
  snippet: string;
  durationMs: number;
}

/**
 * One request's answer, classified for the outbox:
 * - `ok`: the CRM did it; `result` is the documented `result` payload.
 * - `rejected`: the CRM refused THIS request on its merits (400 ERROR_CORE "Unsupported phone number format",
 *   "Call is not found", a validation error). Sending the same request again cannot succeed.
 * - `transient`: try again later: 503 QUERY_LIMIT_EXCEEDED, 429 OPERATION_TIME_LIMIT, 5xx, a timeout, a lost
 *   or refused connection, an expired token that a refresh fixed. `badAnswer` marks answers that are not what
 *   the docs say (HTML page, truncated JSON, a 200 with `error` inside, an unknown error code): the outbox
 *   retries those a bounded number of times, then parks the call. `maybeDelivered` is true when the request
 *   may have reached the CRM and been executed (a timeout after the body was sent, a reset before the answer,
 *   a 5xx, a bad answer): a non-idempotent action is then reconciled before it is sent again.
 * - `stopped`: the portal cannot be used until the operator acts (NO_AUTH_FOUND, insufficient_scope,
 *   WRONG_AUTH_TYPE, a refresh that failed with invalid_grant, PORTAL_DELETED, ACCESS_DENIED). The adapter's
 *   status says so; every later request answers `stopped` without touching the network, never a retry loop.
 */
export type CrmOutcome =
  | (OutcomeBase & { kind: 'ok'; result: JsonValue })
  | (OutcomeBase & { kind: 'rejected'; code: string; description: string })
  | (OutcomeBase & { kind: 'transient'; code: string; description: string; badAnswer: boolean; maybeDelivered: boolean; retryAfterMs?: number })
  | (OutcomeBase & { kind: 'stopped'; code: string; description: string });

export interface CrmRequestOptions {
  /**
   * Rate-limiter priority: smaller goes first (the pipeline passes the call's start time in ms, so a backlog
   * drains oldest call first and a new call never starves an old one).
   */
  priority?: number;
  signal?: AbortSignal;
}

export interface CrmPortalStatus {
  /** Portal host (never the webhook code or a token). */
  portal: string;
  /** `ok`; `failing` (the last request failed transiently); `stopped` (see CrmOutcome `stopped`). */
  state: 'ok' | 'failing' | 'stopped';
  /** Why it is failing or stopped, with the CRM's code. */
  lastError: { code: string; description: string; at: string } | null;
  requests: number;
  /** Requests waiting for the rate limiter right now. */
  queued: number;
}

/** A CRM REST client: auth, rate limiting and answer classification. Never throws for CRM or network trouble. */
export interface CrmClient {
  readonly crm: 'bitrix24' | 'kommo';
  call(method: string, params: JsonParams, options?: CrmRequestOptions): Promise<CrmOutcome>;
  status(): CrmPortalStatus;
  close(): Promise<void>;
}

/** Where an OAuth adapter keeps rotated tokens, so a restart uses the newest refresh token (the connector store implements it). */
export interface TokenStore {
  load(portal: string): Promise<{ accessToken: string; refreshToken: string; expiresAt: number } | null>;
  save(portal: string, tokens: { accessToken: string; refreshToken: string; expiresAt: number }): Promise<void>;
}
