// The host side of the hook `http` API. A hook reaches only the hosts allow-listed for it; the check is
// made on the URL before connecting, and redirects are never followed (a 3xx is returned to the hook as is,
// so a permitted host cannot bounce the request elsewhere). The response is streamed and the socket is cut
// as soon as it passes the size cap, so a hostile server cannot make the connector buffer a gigabyte.
import http from 'node:http';
import https from 'node:https';
import { hostAllowed, linkLocalGuardedLookup } from './allow-hosts.js';

export { hostAllowed };

export interface HookHttpPolicy {
  /** host:port entries ("crm.example.com:443", "127.0.0.1:8080"); a bare host is its scheme's default port (allow-hosts.ts). */
  allowHosts: string[];
  timeoutMs: number;
  maxResponseBytes: number;
  /** Largest request body (UTF-8 bytes); default DEFAULT_HTTP_CAPS. */
  maxRequestBytes?: number;
  /** Requests (= sockets) one hook may have open at once; default DEFAULT_HTTP_CAPS. */
  maxConcurrentRequests?: number;
  /** Requests one call may make in all; default DEFAULT_HTTP_CAPS. */
  maxRequestsPerCall?: number;
  /** How to allow a refused host, in the words of where this hook's allow list comes from. */
  allowHint?: string;
}

/** Caps on what one hook's http may hold on the host (bodies, sockets) when the policy does not say. */
export const DEFAULT_HTTP_CAPS = { maxRequestBytes: 256 * 1024, maxConcurrentRequests: 4, maxRequestsPerCall: 20 } as const;

/** The fix named when a host is refused, unless the hook host says where this hook's list comes from. */
export const DEFAULT_ALLOW_HINT = "add it to hooks.allow_hosts in the settings file (loose hook files) or to the pack manifest's allow_hosts (pack hooks), as 'host' or 'host:port'";

/** What the guest runtime receives: never a thrown error (isolated-vm #417), always this envelope. */
export type HttpEnvelope =
  | { ok: true; response: string }
  | { ok: false; code: 'HOOK_HTTP_REFUSED' | 'HOOK_HTTP_FAILED'; message: string };

interface GuestRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
// Headers that would let a hook smuggle or reshape the request beyond what it may decide.
const FORBIDDEN_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'te', 'trailer', 'keep-alive']);

function parseRequest(json: string): GuestRequest | string {
  let raw: unknown;
  try { raw = JSON.parse(json); } catch { return 'malformed request'; }
  if (raw === null || typeof raw !== 'object') return 'malformed request';
  const r = raw as Record<string, unknown>;
  if (typeof r.url !== 'string' || typeof r.method !== 'string') return 'url and method must be strings';
  const headers: Record<string, string> = {};
  if (r.headers !== null && typeof r.headers === 'object') {
    for (const [k, v] of Object.entries(r.headers as Record<string, unknown>)) if (typeof v === 'string') headers[k.toLowerCase()] = v;
  }
  return {
    url: r.url, method: r.method.toUpperCase(), headers,
    ...(typeof r.body === 'string' ? { body: r.body } : {}),
    ...(typeof r.timeoutMs === 'number' && Number.isFinite(r.timeoutMs) ? { timeoutMs: r.timeoutMs } : {}),
  };
}

const refuse = (message: string): HttpEnvelope => ({ ok: false, code: 'HOOK_HTTP_REFUSED', message });
const fail = (message: string): HttpEnvelope => ({ ok: false, code: 'HOOK_HTTP_FAILED', message });

/** Performs one guest http request under the hook's policy. Never rejects. */
export async function performHttp(requestJson: string, policy: HookHttpPolicy): Promise<HttpEnvelope> {
  try {
    const maxBody = policy.maxRequestBytes ?? DEFAULT_HTTP_CAPS.maxRequestBytes;
    // Checked on the text before parsing it: headers and URL are small, the body is bounded by its own cap.
    if (requestJson.length > maxBody * 2 + 64 * 1024) return refuse(`http: the request is larger than the limit of ${maxBody} bytes of body (sandbox.http.max_request_bytes); nothing was sent`);
    const req = parseRequest(requestJson);
    if (typeof req === 'string') return refuse(`http: ${req}`);
    if (req.body !== undefined && Buffer.byteLength(req.body) > maxBody) {
      return refuse(`http: the request body is ${Buffer.byteLength(req.body)} bytes, more than the limit of ${maxBody} (sandbox.http.max_request_bytes); nothing was sent`);
    }
    let url: URL;
    try { url = new URL(req.url); } catch { return refuse(`http: '${req.url.slice(0, 200)}' is not a valid URL`); }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return refuse(`http: only http and https URLs are allowed, not ${url.protocol}`);
    if (url.username || url.password) return refuse('http: credentials in the URL are not allowed; use a header');
    if (!hostAllowed(url, policy.allowHosts)) {
      const listed = policy.allowHosts.length === 0 ? ' (the list is empty)' : '';
      return refuse(`http: host '${url.host}' is not on this hook's allow list${listed}; nothing was sent. Fix: ${policy.allowHint ?? DEFAULT_ALLOW_HINT}`);
    }
    if (!METHODS.has(req.method)) return refuse(`http: method '${req.method.slice(0, 20)}' is not allowed`);
    for (const name of Object.keys(req.headers)) if (FORBIDDEN_HEADERS.has(name)) delete req.headers[name];
    const timeoutMs = Math.max(1, Math.min(req.timeoutMs ?? policy.timeoutMs, policy.timeoutMs));
    return await send(url, req, timeoutMs, policy.maxResponseBytes);
  } catch (error) {
    return fail(`http: ${error instanceof Error ? error.message : 'request failed'}`);
  }
}

function send(url: URL, req: GuestRequest, timeoutMs: number, maxBytes: number): Promise<HttpEnvelope> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (env: HttpEnvelope): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(env);
    };
    const body = req.body !== undefined ? Buffer.from(req.body, 'utf8') : undefined;
    const headers: Record<string, string> = { ...req.headers, ...(body ? { 'content-length': String(body.length) } : {}) };
    const lib = url.protocol === 'https:' ? https : http;
    const clientReq = lib.request(url, { method: req.method, headers, agent: false, lookup: linkLocalGuardedLookup }, (res) => {
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        res.destroy();
        clientReq.destroy();
        finish(fail(`http: response of ${declared} bytes exceeds the limit of ${maxBytes} bytes`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          res.destroy();
          clientReq.destroy();
          finish(fail(`http: response exceeds the limit of ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', () => finish(fail('http: the response was cut off')));
      res.on('end', () => {
        const outHeaders: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) outHeaders[k] = Array.isArray(v) ? v.join(', ') : v;
        const response = { status: res.statusCode ?? 0, headers: outHeaders, body: Buffer.concat(chunks).toString('utf8') };
        finish({ ok: true, response: JSON.stringify(response) });
      });
    });
    const timer = setTimeout(() => {
      clientReq.destroy();
      finish(fail(`http: no complete response within ${timeoutMs} ms`));
    }, timeoutMs);
    clientReq.on('error', (error: NodeJS.ErrnoException) =>
      finish(error.code === 'ELINKLOCAL' ? refuse(`http: ${error.message}`) : fail(`http: ${error.code ?? 'request failed'} for ${url.host}`)));
    clientReq.end(body);
  });
}
