// The axios instance every Bitrix24 request goes through, and what a failed one tells us. Answers stay
// raw text (a truncated JSON must be seen as such, not as axios's parse error); every HTTP status is an
// answer to classify (validateStatus); redirects are not followed (a redirect would carry the webhook
// code to wherever it points, and Bitrix24 does not redirect REST calls); the Node http adapter is used
// directly (with maxRedirects 0 axios hands back the real ClientRequest, whose `writableFinished` says
// whether the body was sent before the connection failed).
import axios, { type AxiosInstance } from 'axios';
import type { ClientRequest } from 'node:http';
import type { NoAnswer } from './classify.js';
import { httpsAgentFor } from '../tls.js';

/** `caFile`: crm.ca_file (extra CAs for the CRM's HTTPS, core/crm/tls.ts). */
export function createHttp(caFile?: string): AxiosInstance {
  const httpsAgent = httpsAgentFor(caFile);
  return axios.create({
    ...(httpsAgent !== undefined ? { httpsAgent } : {}),
    adapter: 'http',
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    validateStatus: () => true,
    maxRedirects: 0,
    headers: { 'User-Agent': 'callhook', Accept: 'application/json' },
  });
}

/** The facts of an axios failure without an HTTP answer (never the config: it holds the URL with the webhook code). */
export function noAnswerOf(error: unknown, durationMs: number): NoAnswer {
  const e = error as { code?: unknown; message?: unknown; request?: unknown; name?: unknown };
  const code = typeof e.code === 'string' ? e.code : e.name === 'CanceledError' ? 'ERR_CANCELED' : 'NETWORK_ERROR';
  const req = e.request as Partial<ClientRequest> | undefined;
  return {
    code,
    message: typeof e.message === 'string' ? e.message : String(error),
    // Unknown (no request object) counts as sent: the safe side for a non-idempotent action.
    bodySent: req === undefined || typeof req.writableFinished !== 'boolean' ? true : req.writableFinished,
    timedOut: code === 'ECONNABORTED' || code === 'ETIMEDOUT',
    aborted: code === 'ERR_CANCELED',
    durationMs,
  };
}
