// Every Kommo API v4 answer (or the lack of one) → a CrmOutcome (core/crm/types.ts), from crm-apis.md §2.6:
// success is 200/201/202/204 (204 = an empty search: result null); 400 is a refusal on the merits (its
// `validation-errors` or `errors` are kept in the description); 401 is a token the account refuses (the
// long-lived token expired or was revoked: the account is stopped until the operator puts a new one);
// 403 is an IP block after "suspicious activity" or a missing right (stopped as well: retrying makes a block
// longer); 402 an unpaid account (stopped); 404 a refusal; 429 the 7 req/s limit (not executed: retried);
// 5xx may have run. Anything that is not JSON where JSON is documented is a bad answer.
import { ANSWER_SNIPPET_BYTES, type CrmOutcome, type JsonValue } from '../types.js';
import type { NoAnswer } from '../bitrix24/classify.js';
import { tlsHint } from '../tls.js';

export type { NoAnswer };

/** After a 429 without Retry-After: the account counts per second, so one window. */
export const TOO_MANY_RETRY_MS = 1_000;

const NOT_SENT_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ERR_INVALID_URL', 'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export interface KommoAnswer {
  status: number;
  body: string;
  contentType: string;
  retryAfter: string | undefined;
  durationMs: number;
}

const isObject = (v: unknown): v is { [key: string]: JsonValue } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The problem+json answer in one line: title, detail, and the first validation errors with their paths. */
function problemText(parsed: { [key: string]: JsonValue }): string {
  const parts: string[] = [];
  for (const k of ['title', 'detail', 'hint'] as const) if (typeof parsed[k] === 'string' && parsed[k] !== '') parts.push(String(parsed[k]));
  const validation = parsed['validation-errors'];
  if (Array.isArray(validation)) {
    for (const item of validation.slice(0, 3)) {
      if (!isObject(item) || !Array.isArray(item.errors)) continue;
      for (const e of item.errors.slice(0, 3)) if (isObject(e)) parts.push(`request ${String(item.request_id ?? '?')}: ${String(e.path ?? '')} ${String(e.code ?? '')} ${String(e.detail ?? '')}`.trim());
    }
  }
  const errors = parsed['errors'] ?? (isObject(parsed._embedded) ? parsed._embedded.errors : undefined);
  if (Array.isArray(errors)) for (const e of errors.slice(0, 3)) if (isObject(e)) parts.push(`${String(e.title ?? e.code ?? '')} ${String(e.detail ?? '')}`.trim());
  return parts.join('; ');
}

/** A 400 body's stable code: VALIDATION (validation-errors), ENTITY_NOT_FOUND (a call for an unknown number), else BAD_REQUEST. */
function rejectionCode(parsed: { [key: string]: JsonValue } | null): string {
  if (parsed === null) return 'BAD_REQUEST';
  if (Array.isArray(parsed['validation-errors'])) return 'VALIDATION';
  if (/entity not/i.test(JSON.stringify(parsed.errors ?? parsed._embedded ?? ''))) return 'ENTITY_NOT_FOUND';
  return 'BAD_REQUEST';
}

export function classifyKommoAnswer(a: KommoAnswer, redact: (s: string) => string): CrmOutcome {
  const snippet = redact(a.body).slice(0, ANSWER_SNIPPET_BYTES);
  const base = { status: a.status, snippet, durationMs: a.durationMs };
  let parsed: JsonValue | undefined;
  let parseFailed = false;
  if (a.body.trim() !== '') {
    try {
      parsed = JSON.parse(a.body) as JsonValue;
    } catch {
      parseFailed = true;
    }
  }
  const obj = isObject(parsed) ? parsed : null;
  const bad = (code: string, description: string, maybeDelivered: boolean): CrmOutcome => ({ ...base, kind: 'transient', code, description: redact(description), badAnswer: true, maybeDelivered });
  if (a.status === 204) return { ...base, kind: 'ok', result: null };
  if (a.status >= 200 && a.status < 300) {
    if (parseFailed || parsed === undefined) return bad('BAD_ANSWER', `HTTP ${a.status} without the documented JSON body`, true);
    return { ...base, kind: 'ok', result: parsed };
  }
  const text = obj !== null ? problemText(obj) : '';
  const described = (fallback: string): string => redact(text !== '' ? text : fallback);
  if (a.status === 429) {
    const seconds = Number(a.retryAfter);
    return { ...base, kind: 'transient', code: 'TOO_MANY_REQUESTS', description: 'HTTP 429: more than 7 requests per second reached the account', badAnswer: false, maybeDelivered: false, retryAfterMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : TOO_MANY_RETRY_MS };
  }
  if (a.status === 401) return { ...base, kind: 'stopped', code: 'UNAUTHORIZED', description: `HTTP 401: the account refuses the token (expired or revoked): generate a new long-lived token and put it in crm.kommo.long_lived_token${text !== '' ? ` (${described('')})` : ''}` };
  if (a.status === 402) return { ...base, kind: 'stopped', code: 'PAYMENT_REQUIRED', description: described('HTTP 402: the account is not paid') };
  if (a.status === 403) return { ...base, kind: 'stopped', code: 'FORBIDDEN', description: `HTTP 403: ${described('access denied')} (an IP block after too many requests, or the token's user lacks the right: see docs/kommo.md)` };
  // A 5xx may have run. Kommo answers problem+json; an HTML page (a proxy's) is not what it documents.
  if (a.status >= 500) return { ...base, kind: 'transient', code: `HTTP_${a.status}`, description: described(`HTTP ${a.status}${parseFailed ? ' with an answer that is not JSON' : ''}`), badAnswer: parseFailed, maybeDelivered: true };
  if (a.status === 400 || a.status === 404 || a.status === 405 || a.status === 422) {
    if (parseFailed) return bad(`HTTP_${a.status}`, `HTTP ${a.status} with an answer that is not JSON`, false);
    return { ...base, kind: 'rejected', code: a.status === 404 ? 'NOT_FOUND' : a.status === 405 ? 'METHOD_NOT_ALLOWED' : rejectionCode(obj), description: described(`HTTP ${a.status}`) };
  }
  return bad(`HTTP_${a.status}`, `HTTP ${a.status}: not an answer Kommo documents${text !== '' ? `: ${text}` : ''}`, a.status >= 300 && a.status < 400 ? false : true);
}

export function classifyKommoNoAnswer(n: NoAnswer, redact: (s: string) => string): CrmOutcome {
  const maybeDelivered = !NOT_SENT_CODES.has(n.code) && n.bodySent;
  const what = n.timedOut ? 'no answer in time' : n.aborted ? 'the request was aborted' : NOT_SENT_CODES.has(n.code) ? 'could not connect' : 'the connection was lost before the answer';
  const after = maybeDelivered ? ' (the request was sent: it may have been executed)' : ' (the request was not sent)';
  return {
    status: null, snippet: '', durationMs: n.durationMs, kind: 'transient', code: n.timedOut ? 'TIMEOUT' : n.code || 'NETWORK_ERROR',
    description: redact(`${what}${after}: ${n.message}${tlsHint(n.code)}`), badAnswer: false, maybeDelivered,
  };
}
