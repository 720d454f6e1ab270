// The local Bitrix24 portal: a real HTTP server on 127.0.0.1 that answers the REST methods the connector
// uses with Bitrix24's documented bodies, auth, limits and faults. Tests and the demo (`npx callhook run`
// with no settings) send to it; nothing here reaches a real CRM.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { isKnownTimeZone, isoWithOffset } from '../../crm/bitrix24/time.js';
import type { JsonValue } from '../../crm/types.js';
import { RestError, SYSTEM_ERRORS } from './errors.js';
import { FaultBoard, normalizeMethod, type FaultKind, type FaultRule, type FaultSwitches } from './faults.js';
import { LeakyBucket, OperatingBudget } from './limits.js';
import { METHODS, scopeGranted } from './methods.js';
import { bodyParams, multipartFile, readBody } from './body.js';
import { isObject, parsePhpQuery, phpBool, phpString, type Params } from './params.js';
import { Portal, type MethodAnswer, type MethodContext } from './portal.js';
import { ALL_SCOPES, demoSeed, randomHex, type LocalBitrix24State, type Scope, type SeedEntity, type SeedUser } from './state.js';
import { formatSummary, summarizeCalls, type CallSummary } from './summary.js';
import { uploadRecord } from './telephony.js';

export interface LocalBitrix24Options {
  /** 0 (default) = a free port. The server listens on 127.0.0.1 only. */
  port?: number;
  /** The portal's zone (dates it prints; CALL_START_DATE without an offset is read in it). Default 'UTC'. */
  timeZone?: string;
  webhook?: { userId?: number; code?: string; scopes?: readonly Scope[] };
  oauth?: {
    clientId?: string;
    clientSecret?: string;
    /** The refresh token valid at start (as if just installed). */
    refreshToken?: string;
    /** Access-token lifetime (1 hour on Bitrix24; short in tests). */
    accessTokenLifetimeMs?: number;
    scopes?: readonly Scope[];
    /** The installing user (whose permissions OAuth calls run with). */
    userId?: number;
  };
  /** Seed data. When none of the four is given, the demo seed (core/demo-crm/bitrix24/state.ts demoSeed). */
  users?: readonly SeedUser[];
  contacts?: readonly SeedEntity[];
  companies?: readonly SeedEntity[];
  leads?: readonly SeedEntity[];
  /** The leaky bucket: drain `requestsPerSecond` (2), threshold `burst` (50). */
  limits?: { enabled?: boolean; requestsPerSecond?: number; burst?: number };
  /** The per-method execution-time budget (429 OPERATION_TIME_LIMIT). Off by default. */
  operating?: { enabled?: boolean; budgetSeconds?: number; windowMs?: number; costSeconds?: number | Readonly<Record<string, number>> };
  /** Simulate "Lead creation is disabled for local users" & co: CRM_CREATE creates nothing and register says why. */
  leadCreationError?: string;
  /** attachRecord RECORD_URL to loopback/private hosts: refused as the core does (default) or downloaded. */
  allowPrivateRecordUrls?: boolean;
  maxBodyBytes?: number;
}

export interface ReceivedRequest {
  at: string;
  atMs: number;
  endpoint: 'rest' | 'oauth/token' | 'upload';
  /** Lower-case method name (`batch` for a batch; its commands follow with via='batch'). */
  method: string;
  auth: 'webhook' | 'oauth' | 'none';
  via: 'http' | 'batch';
  /** The parameters (the `auth` token removed; token-endpoint secrets masked). */
  params: Params;
  /** HTTP status answered; null when no answer was sent (stall, drop, execute-then-drop). */
  status: number | null;
  result?: JsonValue;
  error?: { error: string; error_description: string };
  fault?: FaultKind;
}

export interface LocalBitrix24 {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The incoming-webhook base URL: <url>/rest/<user_id>/<code>/ */
  webhookUrl: string;
  oauth: { portalUrl: string; tokenUrl: string; clientId: string; clientSecret: string; refreshToken: string };
  state: LocalBitrix24State;
  received: ReceivedRequest[];
  faults: FaultSwitches;
  /** Every access token issued so far answers expired_token from now on. */
  expireAccessTokens(): void;
  /** Every refresh token becomes unknown (a refresh answers invalid_grant), as after an app reinstall. */
  revokeRefreshTokens(): void;
  /** The leaky bucket's counter now. */
  queryLimitLevel(): number;
  summary(): CallSummary[];
  formatSummary(): string;
  close(): Promise<void>;
}

interface AuthContext {
  mode: 'webhook' | 'oauth';
  scopes: readonly Scope[];
  ctx: Omit<MethodContext, 'nowMs'>;
}

interface Answer {
  status: number;
  body: { [key: string]: JsonValue };
}

const MAX_BATCH = 50;
const DEFAULT_LIFETIME_MS = 3_600_000;

export async function startLocalBitrix24(options: LocalBitrix24Options = {}): Promise<LocalBitrix24> {
  const timeZone = options.timeZone ?? 'UTC';
  if (!isKnownTimeZone(timeZone) || timeZone === '') throw new Error(`startLocalBitrix24: unknown time zone ${JSON.stringify(timeZone)}`);
  const seeded = options.users !== undefined || options.contacts !== undefined || options.companies !== undefined || options.leads !== undefined;
  const portal = new Portal(
    { timeZone, leadCreationError: options.leadCreationError ?? null, allowPrivateRecordUrls: options.allowPrivateRecordUrls ?? false },
    seeded ? options : demoSeed(),
  );
  const webhook = { userId: options.webhook?.userId ?? 1, code: options.webhook?.code ?? randomHex(8), scopes: options.webhook?.scopes ?? ALL_SCOPES };
  const oauthOptions = {
    clientId: options.oauth?.clientId ?? `local.${randomHex(6)}.${randomHex(4)}`,
    clientSecret: options.oauth?.clientSecret ?? randomHex(24),
    lifetimeMs: options.oauth?.accessTokenLifetimeMs ?? DEFAULT_LIFETIME_MS,
    scopes: options.oauth?.scopes ?? ALL_SCOPES,
    userId: options.oauth?.userId ?? 1,
  };
  const initialRefresh = options.oauth?.refreshToken ?? randomHex(24);
  const refreshTokens = new Set<string>([initialRefresh]);
  const accessTokens = new Map<string, number>();
  const bucket = new LeakyBucket({ requestsPerSecond: options.limits?.requestsPerSecond ?? 2, burst: options.limits?.burst ?? 50 });
  const limitsEnabled = options.limits?.enabled ?? true;
  const operating = new OperatingBudget({
    enabled: options.operating?.enabled ?? false,
    budgetSeconds: options.operating?.budgetSeconds ?? 480,
    windowMs: options.operating?.windowMs ?? 600_000,
  });
  const cost = options.operating?.costSeconds;
  const costOf = (method: string, measured: number): number =>
    typeof cost === 'number' ? cost : cost !== undefined && cost[method] !== undefined ? cost[method]! : cost?.['default'] ?? measured;
  const faults = new FaultBoard();
  const received: ReceivedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  const maxBody = options.maxBodyBytes ?? 64 * 1024 * 1024;
  let baseUrl = '';

  const delay = (ms: number) => new Promise<void>((resolve) => {
    const t = setTimeout(() => { timers.delete(t); resolve(); }, ms);
    timers.add(t);
  });

  function timeBlock(method: string, startMs: number): JsonValue {
    const finishMs = Date.now();
    return {
      start: startMs / 1000, finish: finishMs / 1000, duration: (finishMs - startMs) / 1000, processing: (finishMs - startMs) / 1000,
      date_start: isoWithOffset(startMs, timeZone), date_finish: isoWithOffset(finishMs, timeZone),
      operating_reset_at: operating.resetAt(method, finishMs), operating: operating.operating(method, finishMs),
    };
  }

  function errorAnswer(e: RestError): Answer {
    return { status: e.status, body: { error: e.code, error_description: e.description } };
  }

  /** Authentication of a REST request; a RestError when it fails. */
  function authenticate(webhookPath: { userId: string; code: string } | null, params: Params, nowMs: number): AuthContext {
    if (webhookPath !== null) {
      if (webhookPath.userId !== String(webhook.userId) || webhookPath.code !== webhook.code) throw SYSTEM_ERRORS.noAuth();
      return {
        mode: 'webhook', scopes: webhook.scopes,
        ctx: { auth: 'webhook', restAppId: 'webHook1', actingUserId: webhook.userId, baseUrl, uploadAuth: { pathPrefix: `${webhook.userId}/${webhook.code}/`, query: '' } },
      };
    }
    const token = phpString(params['auth']);
    if (token === '') throw SYSTEM_ERRORS.noAuth();
    const expiresAt = accessTokens.get(token);
    if (expiresAt === undefined) throw SYSTEM_ERRORS.invalidToken();
    if (expiresAt <= nowMs) throw SYSTEM_ERRORS.expiredToken();
    return {
      mode: 'oauth', scopes: oauthOptions.scopes,
      ctx: { auth: 'oauth', restAppId: oauthOptions.clientId, actingUserId: oauthOptions.userId, baseUrl, uploadAuth: { pathPrefix: '', query: `auth=${encodeURIComponent(token)}` } },
    };
  }

  function record(entry: Omit<ReceivedRequest, 'at' | 'atMs' | 'status'> & { status?: number | null }, atMs: number): ReceivedRequest {
    const full: ReceivedRequest = { at: isoWithOffset(atMs, timeZone), atMs, status: null, ...entry };
    received.push(full);
    return full;
  }

  function finishRecord(entry: ReceivedRequest, answer: Answer): void {
    entry.status = answer.status;
    if ('error' in answer.body) entry.error = { error: phpString(answer.body['error']), error_description: phpString(answer.body['error_description']) };
    else entry.result = answer.body['result'] ?? null;
  }

  /** One method call after authentication: scope, operating budget, the method itself. */
  async function runMethod(method: string, params: Params, auth: AuthContext, via: 'http' | 'batch', startMs: number): Promise<Answer> {
    if (method === 'batch') return via === 'batch' ? errorAnswer(SYSTEM_ERRORS.batchMethod()) : runBatch(params, auth, startMs);
    const spec = METHODS.get(method);
    if (spec === undefined) return errorAnswer(SYSTEM_ERRORS.methodNotFound());
    if (!scopeGranted(auth.scopes, spec.scope)) return errorAnswer(SYSTEM_ERRORS.insufficientScope(auth.mode));
    if (operating.blocked(method, Date.now())) return errorAnswer(SYSTEM_ERRORS.operationTimeLimit());
    const began = performance.now();
    let answer: MethodAnswer;
    try {
      answer = await spec.run(portal, params, { ...auth.ctx, nowMs: Date.now() });
    } catch (error) {
      operating.add(method, costOf(method, (performance.now() - began) / 1000), Date.now());
      if (error instanceof RestError) return errorAnswer(error);
      return errorAnswer(SYSTEM_ERRORS.internal());
    }
    operating.add(method, costOf(method, (performance.now() - began) / 1000), Date.now());
    const body: { [key: string]: JsonValue } = { result: answer.result };
    if (answer.next !== undefined) body['next'] = answer.next;
    if (answer.total !== undefined) body['total'] = answer.total;
    body['time'] = timeBlock(method, startMs);
    return { status: 200, body };
  }

  async function runBatch(params: Params, auth: AuthContext, startMs: number): Promise<Answer> {
    const cmd = params['cmd'];
    const entries: [string, JsonValue][] = Array.isArray(cmd) ? cmd.map((v, i) => [String(i), v]) : isObject(cmd) ? Object.entries(cmd) : [];
    if (entries.length > MAX_BATCH) return errorAnswer(SYSTEM_ERRORS.batchLength());
    const halt = phpBool(params['halt']);
    const results: { [key: string]: JsonValue } = {};
    const errors: { [key: string]: JsonValue } = {};
    const totals: { [key: string]: JsonValue } = {};
    const nexts: { [key: string]: JsonValue } = {};
    const times: { [key: string]: JsonValue } = {};
    for (const [key, command] of entries) {
      const text = phpString(command);
      const q = text.indexOf('?');
      const method = normalizeMethod(q < 0 ? text : text.slice(0, q));
      // `$result[key][FIELD]` (any depth) takes an earlier command's result.
      const query = (q < 0 ? '' : text.slice(q + 1)).replace(/\$result\[([^\]]*)\]((?:\[[^\]]*\])*)/g, (_, ref: string, path: string) => {
        let value: JsonValue | undefined = results[ref];
        for (const m of path.matchAll(/\[([^\]]*)\]/g)) {
          value = Array.isArray(value) ? value[Number(m[1])] : isObject(value) ? value[m[1] ?? ''] : undefined;
        }
        return encodeURIComponent(phpString(value));
      });
      const innerParams = parsePhpQuery(query);
      const innerStart = Date.now();
      const entry = record({ endpoint: 'rest', method, auth: auth.mode, via: 'batch', params: stripAuth(innerParams) }, innerStart);
      const answer = await runMethod(method, innerParams, auth, 'batch', innerStart);
      finishRecord(entry, answer);
      if (answer.status !== 200) {
        errors[key] = { error: answer.body['error'] ?? '', error_description: answer.body['error_description'] ?? '' };
        if (halt) break;
        continue;
      }
      results[key] = answer.body['result'] ?? null;
      if (answer.body['total'] !== undefined) totals[key] = answer.body['total']!;
      if (answer.body['next'] !== undefined) nexts[key] = answer.body['next']!;
      times[key] = answer.body['time'] ?? null;
    }
    // PHP's json_encode prints an empty array as [], not {}.
    const phpMap = (m: { [key: string]: JsonValue }): JsonValue => (Object.keys(m).length === 0 ? [] : m);
    return {
      status: 200,
      body: {
        result: { result: phpMap(results), result_error: phpMap(errors), result_total: phpMap(totals), result_next: phpMap(nexts), result_time: phpMap(times) },
        time: timeBlock('batch', startMs),
      },
    };
  }

  function tokenEndpoint(params: Params, nowMs: number): Answer {
    const clientOk = phpString(params['client_id']) === oauthOptions.clientId && phpString(params['client_secret']) === oauthOptions.clientSecret;
    if (!clientOk) return { status: 401, body: { error: 'invalid_client', error_description: 'Invalid client credentials' } };
    if (phpString(params['grant_type']) !== 'refresh_token') return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Only refresh_token is supported here' } };
    const used = phpString(params['refresh_token']);
    if (!refreshTokens.delete(used)) return { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid refresh token' } };
    const refresh = randomHex(24);
    const access = randomHex(24);
    refreshTokens.add(refresh);
    accessTokens.set(access, nowMs + oauthOptions.lifetimeMs);
    portal.state.oauth.refreshes += 1;
    portal.state.oauth.accessTokensIssued += 1;
    return {
      status: 200,
      body: {
        access_token: access, expires: Math.floor((nowMs + oauthOptions.lifetimeMs) / 1000), expires_in: Math.max(1, Math.floor(oauthOptions.lifetimeMs / 1000)),
        scope: oauthOptions.scopes.join(','), domain: new URL(baseUrl).host, server_endpoint: `${baseUrl}/rest/`, status: 'L',
        client_endpoint: `${baseUrl}/rest/`, member_id: 'local', user_id: oauthOptions.userId, refresh_token: refresh,
      },
    };
  }

  function send(res: ServerResponse, status: number, body: string, type = 'application/json; charset=utf-8'): void {
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  function faultAnswer(rule: FaultRule): { status: number; text: string; type?: string } {
    switch (rule.kind) {
      case 'html': {
        const status = rule.status ?? 502;
        return { status, text: `<html>\r\n<head><title>${status} Bad Gateway</title></head>\r\n<body>\r\n<center><h1>${status} Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`, type: 'text/html' };
      }
      case 'error-in-200':
        return { status: 200, text: JSON.stringify({ error: rule.error ?? 'ERROR_CORE', error_description: rule.description ?? 'Unexpected error' }) };
      default:
        return { status: rule.status ?? 500, text: JSON.stringify({ error: rule.error ?? 'INTERNAL_SERVER_ERROR', error_description: rule.description ?? 'Internal server error' }) };
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startMs = Date.now();
    const url = new URL(req.url ?? '/', baseUrl);
    const body = await readBody(req, maxBody);
    if (body === null) return send(res, 413, '<html><body>413 Request Entity Too Large</body></html>', 'text/html');
    const isPost = req.method === 'POST';
    const contentType = (req.headers['content-type'] ?? '').toLowerCase();
    const query = parsePhpQuery(url.search.slice(1));
    const path = url.pathname;

    if (path === '/oauth/token/' || path === '/oauth/token') {
      const params = isPost ? { ...query, ...bodyParams(contentType, body) } : query;
      const entry = record({ endpoint: 'oauth/token', method: 'oauth/token', auth: 'none', via: 'http', params: maskSecrets(params) }, startMs);
      const rule = faults.take('oauth/token', 'oauth/token');
      if (await applyEarlyFault(rule, entry, res)) return;
      const answer = tokenEndpoint(params, Date.now());
      entry.status = answer.status;
      if ('error' in answer.body) entry.error = { error: phpString(answer.body['error']), error_description: phpString(answer.body['error_description']) };
      return finishWithFault(rule, entry, res, answer);
    }

    const m = /^\/rest\/(?:(\d+)\/([^/]+)\/)?([^/]+?)\/?$/.exec(path);
    if (m === null) return send(res, 404, '<html><body><h1>404 Not Found</h1></body></html>', 'text/html');
    const webhookPath = m[1] !== undefined && m[2] !== undefined ? { userId: m[1], code: m[2] } : null;
    const method = normalizeMethod(m[3] ?? '');
    const isUpload = method === 'upload';
    const params: Params = isPost && !isUpload ? { ...query, ...bodyParams(contentType, body) } : query;
    const entry = record(
      { endpoint: isUpload ? 'upload' : 'rest', method, auth: webhookPath !== null ? 'webhook' : 'oauth', via: 'http', params: stripAuth(params) },
      startMs,
    );
    const rule = faults.take(method, isUpload ? 'upload' : 'rest');
    if (await applyEarlyFault(rule, entry, res)) return;

    let answer: Answer;
    if (limitsEnabled && !bucket.take(Date.now())) {
      answer = errorAnswer(SYSTEM_ERRORS.queryLimit());
    } else {
      try {
        const auth = authenticate(webhookPath, params, Date.now());
        if (isUpload) {
          const file = contentType.startsWith('multipart/form-data') ? multipartFile(contentType, body, 'file') : null;
          const result = uploadRecord(portal, phpString(params['token']), file, Date.now());
          answer = { status: 200, body: { result: result.result, time: timeBlock('upload', startMs) } };
        } else {
          answer = await runMethod(method, params, auth, 'http', startMs);
        }
      } catch (error) {
        answer = error instanceof RestError ? errorAnswer(error) : errorAnswer(SYSTEM_ERRORS.internal());
      }
    }
    finishRecord(entry, answer);
    return finishWithFault(rule, entry, res, answer);
  }

  /** Faults that act before the request is handled; true when the request is over. */
  async function applyEarlyFault(rule: FaultRule | null, entry: ReceivedRequest, res: ServerResponse): Promise<boolean> {
    if (rule === null) return false;
    entry.fault = rule.kind;
    if (rule.kind === 'slow') {
      await delay(rule.delayMs ?? 1000);
      return false;
    }
    if (rule.kind === 'drop') {
      res.socket?.destroy();
      return true;
    }
    if (rule.kind === 'stall' && rule.execute !== true) return true;
    if ((rule.kind === 'status' || rule.kind === 'html' || rule.kind === 'error-in-200') && rule.execute !== true) {
      const f = faultAnswer(rule);
      entry.status = f.status;
      send(res, f.status, f.text, f.type);
      return true;
    }
    return false;
  }

  /** Sends the answer, or what the fault makes of it after the method ran. */
  function finishWithFault(rule: FaultRule | null, entry: ReceivedRequest, res: ServerResponse, answer: Answer): void {
    const text = JSON.stringify(answer.body);
    switch (rule?.kind) {
      case 'execute-then-drop':
        entry.status = null;
        res.socket?.destroy();
        return;
      case 'stall':
        entry.status = null;
        return;
      case 'truncated':
        return send(res, answer.status, text.slice(0, Math.max(1, Math.floor(text.length / 2))));
      case 'status':
      case 'html':
      case 'error-in-200': {
        const f = faultAnswer(rule);
        entry.status = f.status;
        return send(res, f.status, f.text, f.type);
      }
      default:
        return send(res, answer.status, text);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, JSON.stringify({ error: 'INTERNAL_SERVER_ERROR', error_description: 'Internal server error' })));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${address.port}`;

  return {
    url: baseUrl,
    webhookUrl: `${baseUrl}/rest/${webhook.userId}/${webhook.code}/`,
    oauth: { portalUrl: baseUrl, tokenUrl: `${baseUrl}/oauth/token/`, clientId: oauthOptions.clientId, clientSecret: oauthOptions.clientSecret, refreshToken: initialRefresh },
    state: portal.state,
    received,
    faults,
    expireAccessTokens() {
      for (const token of accessTokens.keys()) accessTokens.set(token, 0);
    },
    revokeRefreshTokens() {
      refreshTokens.clear();
    },
    queryLimitLevel: () => bucket.levelAt(Date.now()),
    summary: () => summarizeCalls(portal.state),
    formatSummary: () => formatSummary(portal.state),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

function stripAuth(p: Params): Params {
  const { auth: _auth, ...rest } = p;
  return rest;
}

function maskSecrets(p: Params): Params {
  const out: Params = { ...p };
  for (const key of ['client_secret', 'refresh_token']) if (key in out) out[key] = '[secret]';
  return out;
}
