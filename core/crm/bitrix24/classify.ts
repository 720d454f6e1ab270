// Every Bitrix24 answer (or the lack of one) → a CrmOutcome, by the rules of core/crm/types.ts. Pure:
// the client feeds it what axios saw. The code tables are the documented codes (crm-apis.md §1.1, §1.12,
// the methods' pages); anything else is not what the docs say and is a transient bad answer.
import { tlsHint } from '../tls.js';
import { ANSWER_SNIPPET_BYTES, type CrmOutcome, type JsonValue } from '../types.js';

/** The portal cannot be used until the operator acts. */
const STOPPED_CODES = new Set([
  'NO_AUTH_FOUND', 'INVALID_CREDENTIALS', 'insufficient_scope', 'invalid_scope', 'WRONG_AUTH_TYPE', 'ACCESS_DENIED', 'PORTAL_DELETED',
  'user_access_error', 'OVERLOAD_LIMIT', 'INVALID_REQUEST', 'PAYMENT_REQUIRED', 'invalid_client', 'invalid_grant', 'unauthorized_client',
]);
/** Refusals of this request on its merits (validation, not found). '' is the core's empty code ("Call is not found"). */
const REJECTED_CODES = new Set([
  '', 'ERROR_CORE', 'INVALID_ARGUMENT', 'ERROR_ARGUMENT', 'ERROR_NOT_FOUND', 'NOT_FOUND', 'ERROR_METHOD_NOT_FOUND', 'ERROR_BATCH_LENGTH_EXCEEDED',
  'ERROR_BATCH_METHOD_NOT_ALLOWED', 'ERROR_REQUIRED_PARAMETERS_MISSING', 'ERROR_WRONG_STATE', 'LINE_NOT_FOUND',
  '0', '100', // tasks.task.*: "Invalid sorting key", "Could not find value for parameter {fields}"
]);
/** Documented "try again" codes, and whether the request may have run before the error. */
const RETRY_CODES = new Map<string, boolean>([
  ['QUERY_LIMIT_EXCEEDED', false], // refused at the door
  ['OPERATION_TIME_LIMIT', false], // the method is blocked, it did not run
  ['INTERNAL_SERVER_ERROR', true],
  ['ERROR_UNEXPECTED_ANSWER', true],
  ['SERVER_NOT_AVAILABLE', false], // attachRecord RECORD_URL: the recording's server did not answer Bitrix24
]);
/** OAuth access-token problems a refresh may fix (in webhook mode they stop the portal). */
export const TOKEN_CODES = new Set(['expired_token', 'invalid_token']);
/** Errors in a documented code that mean a server failure after the work started (finish writes the activity first). */
const SERVER_FAILURE_DESCRIPTIONS = [/^Unexpected database error/];

/** Connection errors raised before anything was sent: the request certainly did not run. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ERR_INVALID_URL', 'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export interface HttpAnswer {
  status: number;
  /** The body as text (never parsed by axios: truncated JSON must stay visible). */
  body: string;
  durationMs: number;
}

export interface NoAnswer {
  /** Node's/axios's error code (ECONNREFUSED, ECONNRESET, ECONNABORTED, ETIMEDOUT, ERR_CANCELED, …). */
  code: string;
  message: string;
  /** Whether the request body was handed to the socket completely (then the CRM may have run it). */
  bodySent: boolean;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
}

function snippetOf(text: string, redact: (s: string) => string): string {
  return redact(text).slice(0, ANSWER_SNIPPET_BYTES);
}

function isObject(v: unknown): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function classifyHttpAnswer(a: HttpAnswer, options: { mode: 'webhook' | 'oauth'; redact: (s: string) => string }): CrmOutcome {
  const base = { status: a.status, snippet: snippetOf(a.body, options.redact), durationMs: a.durationMs };
  const bad = (code: string, description: string): CrmOutcome => ({ ...base, kind: 'transient', code, description: options.redact(description), badAnswer: true, maybeDelivered: true });
  let parsed: unknown;
  try {
    parsed = JSON.parse(a.body);
  } catch {
    return bad(`HTTP_${a.status}`, `HTTP ${a.status}: the answer is not JSON${a.body.trim() === '' ? ' (empty body)' : a.body.trimStart().startsWith('{') ? ' (truncated or malformed)' : ''}`);
  }
  if (!isObject(parsed)) return bad(`HTTP_${a.status}`, `HTTP ${a.status}: the answer is JSON but not an object`);
  const ok2xx = a.status >= 200 && a.status < 300;
  if ('error' in parsed && parsed['error'] !== null) {
    const code = typeof parsed['error'] === 'string' || typeof parsed['error'] === 'number' ? String(parsed['error']) : JSON.stringify(parsed['error']);
    const description = options.redact(typeof parsed['error_description'] === 'string' ? parsed['error_description'] : '');
    const e = { ...base, code, description };
    if (ok2xx) return bad(code, `HTTP ${a.status} with an error inside: ${code === '' ? '(empty code)' : code} ${description}`.trim());
    if (TOKEN_CODES.has(code)) {
      return options.mode === 'oauth' ? { ...e, kind: 'transient', badAnswer: false, maybeDelivered: false } : { ...e, kind: 'stopped' };
    }
    if (STOPPED_CODES.has(code)) return { ...e, kind: 'stopped' };
    const retry = RETRY_CODES.get(code);
    if (retry !== undefined) return { ...e, kind: 'transient', badAnswer: false, maybeDelivered: retry };
    if (REJECTED_CODES.has(code)) {
      if (a.status >= 500 || SERVER_FAILURE_DESCRIPTIONS.some((re) => re.test(description))) return { ...e, kind: 'transient', badAnswer: false, maybeDelivered: true };
      return { ...e, kind: 'rejected' };
    }
    return bad(code, `HTTP ${a.status}: unknown error code ${code}${description === '' ? '' : `: ${description}`}`);
  }
  if ('result' in parsed && ok2xx) return { ...base, kind: 'ok', result: parsed['result'] ?? null };
  return bad(`HTTP_${a.status}`, `HTTP ${a.status}: neither result nor error in the answer`);
}

export function classifyNoAnswer(n: NoAnswer, redact: (s: string) => string): CrmOutcome {
  const maybeDelivered = !NOT_SENT_CODES.has(n.code) && n.bodySent;
  const what = n.timedOut ? 'no answer in time' : n.aborted ? 'the request was aborted' : NOT_SENT_CODES.has(n.code) ? 'could not connect' : 'the connection was lost before the answer';
  const after = maybeDelivered ? ' (the request was sent: it may have been executed)' : ' (the request was not sent)';
  return {
    status: null, snippet: '', durationMs: n.durationMs, kind: 'transient', code: n.timedOut ? 'TIMEOUT' : n.code || 'NETWORK_ERROR',
    description: redact(`${what}${after}: ${n.message}${tlsHint(n.code)}`), badAnswer: false, maybeDelivered,
  };
}
