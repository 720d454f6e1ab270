// The connector's one HTTP server (fastify): the operator's API and admin page. Three kinds of routes:
//   - public: GET /health, the sign-in page and POST /login, POST /logout;
//   - protected (everything registered in the protected scope): a session cookie or a bearer token, and
//     for a state-changing request made with the cookie the session's CSRF token in `x-csrf-token`;
//   - plugins that authenticate their own requests (e.g. click-to-call called by the CRM), registered
//     with `auth: 'self'`: outside the protected scope, so the session check does not apply to them.
// A plugin registered without that explicit marker lands in the protected scope.
import { readFile } from 'node:fs/promises';
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { HookHost } from '../../hooks/index.js';
import { readCallReport, type CallReport } from '../pipeline/index.js';
import type { Settings } from '../settings/index.js';
import type { ConnectorStore, LeadershipSnapshot } from '../store/index.js';
import { createCredentials, HttpSettingsError, isLoopback, LoginLimiter, secretEquals, SessionStore, type Session } from './auth.js';
import { listCalls, parseCallQuery } from './calls.js';
import { createMetrics, type ConnectorMetrics } from './metrics.js';
import { buildStatus, createCelLagProbe, PathError, selectPath, type AppState } from './status.js';

export const SESSION_COOKIE = 'callhook_session';

export interface ExtraPlugin {
  plugin: FastifyPluginAsync;
  /** 'self': the plugin checks its own callers (it is not behind the session/token check). 'operator': behind it. */
  auth: 'self' | 'operator';
  prefix?: string;
}

export interface WhatIfRequest { source?: string; name?: string; file?: string; ids?: string[]; from?: string; to?: string; limit?: number }

/** The jobs the operator's API starts; the connector wiring provides them (absent: 501). */
export interface AdminJobs {
  whatIf?(request: WhatIfRequest, signal: AbortSignal): Promise<unknown>;
  reprocess?(selection: { ids: string[] } | { from: string; to?: string }, progress: (p: { total: number; done: number }) => void): Promise<unknown>;
}

export interface AdminServerOptions {
  settings: Pick<Settings, 'http' | 'cel'>;
  store: ConnectorStore;
  pbx: string;
  host: HookHost;
  logger: Logger;
  version: string;
  appState?: () => AppState;
  jobs?: AdminJobs;
  plugins?: readonly ExtraPlugin[];
  /** This instance's role (the lease of issue 15), shown by /status and /metrics. */
  leadership?: () => LeadershipSnapshot;
}

export interface AdminServer {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly metrics: ConnectorMetrics;
  /** Counts a processed call in /metrics. */
  recordCall(report: CallReport): void;
  close(): Promise<void>;
}

type Principal = { kind: 'session'; session: Session } | { kind: 'token'; index: number };

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

const PAGE_DIR = new URL('./page/', import.meta.url);

async function pageFile(name: string): Promise<string> {
  return readFile(new URL(name, PAGE_DIR), 'utf8');
}

interface ReprocessJob { id: string; total: number | null; done: number; state: 'running' | 'done' | 'failed'; result: unknown; error: string | null; startedAt: string }

export async function startAdminServer(o: AdminServerOptions): Promise<AdminServer> {
  const http = o.settings.http;
  if (http.port === null) throw new HttpSettingsError('HTTP_NO_PORT', 'http.port is not set');
  const credentials = createCredentials(http.users, http.tokens);
  if (!isLoopback(http.bind) && !credentials.any) {
    throw new HttpSettingsError('HTTP_OPEN_BIND', `http.bind is '${http.bind}', reachable from other machines, but http.users and http.tokens are empty: add a user (callhook hash-password) or a token, or bind to 127.0.0.1`);
  }
  const startedAt = Date.now();
  const sessions = new SessionStore(http.session_hours * 3_600_000);
  const limiter = new LoginLimiter(http.login_attempts_per_minute);
  const cel = createCelLagProbe(o.settings, o.store, o.pbx);
  const metrics = createMetrics({ store: o.store, pbx: o.pbx, celLag: () => cel.read(), ...(o.leadership ? { leadership: o.leadership } : {}) });
  const log = o.logger.child({ component: 'http' });
  const jobs = new Map<string, ReprocessJob>();
  let jobSeq = 0;

  const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024, trustProxy: false });
  await app.register(fastifyCookie);
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) log.error({ url: request.url, err: error.message }, 'admin request failed');
    void reply.code(status).send({ code: status >= 500 ? 'INTERNAL' : (error.code ?? 'BAD_REQUEST'), message: error.message });
  });

  const cookieOptions = { path: '/', httpOnly: true, sameSite: 'strict' as const, secure: http.secure_cookies };

  // ---- public
  app.get('/health', async () => ({ ok: true }));
  app.get('/login', async (_req, reply) => reply.type('text/html; charset=utf-8').send(await pageFile('login.html')));
  app.post('/login', async (request, reply) => {
    const body = (request.body ?? {}) as { name?: unknown; password?: unknown };
    const name = typeof body.name === 'string' ? body.name : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const keys = [`ip:${request.ip}`, `user:${name}`];
    const wait = limiter.retryAfter(keys);
    if (wait > 0) {
      log.warn({ user: name, ip: request.ip }, 'sign-in refused: too many failed attempts');
      return reply.code(429).header('retry-after', String(wait)).send({ code: 'LOGIN_RATE_LIMITED', message: `too many failed sign-ins; try again in ${wait} s` });
    }
    const user = name !== '' && password !== '' ? await credentials.checkPassword(name, password) : null;
    if (user === null) {
      limiter.fail(keys);
      log.warn({ user: name, ip: request.ip }, 'sign-in failed');
      return reply.code(401).send({ code: 'LOGIN_FAILED', message: 'wrong user name or password' });
    }
    const session = sessions.create(user);
    log.info({ user }, 'signed in');
    return reply.setCookie(SESSION_COOKIE, session.id, { ...cookieOptions, maxAge: Math.floor(http.session_hours * 3600) }).send({ user, csrf: session.csrf });
  });
  app.post('/logout', async (request, reply) => {
    const id = request.cookies[SESSION_COOKIE];
    if (id !== undefined) sessions.delete(id);
    return reply.clearCookie(SESSION_COOKIE, cookieOptions).send({ ok: true });
  });

  // ---- plugins that check their own callers
  for (const p of o.plugins ?? []) if (p.auth === 'self') await app.register(p.plugin, p.prefix !== undefined ? { prefix: p.prefix } : {});

  // ---- everything else: signed in or a bearer token
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const auth = request.headers.authorization;
      if (auth !== undefined && /^bearer /i.test(auth)) {
        const index = credentials.checkToken(auth.slice(7).trim());
        if (index === null) return reply.code(401).send({ code: 'AUTH_BAD_TOKEN', message: 'the bearer token is not one of http.tokens' });
        request.principal = { kind: 'token', index };
        return;
      }
      const session = sessions.get(request.cookies[SESSION_COOKIE]);
      if (session === null) {
        if (request.method === 'GET' && (request.headers.accept ?? '').includes('text/html')) return reply.redirect('/login');
        return reply.code(401).send({ code: 'AUTH_REQUIRED', message: 'sign in (POST /login) or send Authorization: Bearer <token>' });
      }
      if (!['GET', 'HEAD', 'OPTIONS'].includes(request.method)) {
        const csrf = request.headers['x-csrf-token'];
        if (typeof csrf !== 'string' || !secretEquals(csrf, session.csrf)) {
          log.warn({ user: session.user, url: request.url }, 'request refused: CSRF token missing or wrong');
          return reply.code(403).send({ code: 'CSRF_REFUSED', message: 'this request needs the x-csrf-token header of your session (GET /session)' });
        }
      }
      request.principal = { kind: 'session', session };
    });

    scope.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(await pageFile('index.html')));
    scope.get('/app.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(await pageFile('app.js')));
    scope.get('/app.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(await pageFile('app.css')));
    scope.get('/session', async (request) => {
      const p = request.principal;
      return p?.kind === 'session' ? { user: p.session.user, csrf: p.session.csrf } : { user: `token #${p?.index ?? '?'}`, csrf: null };
    });

    scope.get('/status', async (request, reply) => {
      const doc = await buildStatus({ appState: o.appState?.() ?? '', version: o.version, startedAt, hooks: o.host.status(), cel: await cel.read(), store: o.store, pbx: o.pbx, ...(o.leadership ? { leadership: o.leadership() } : {}) });
      const path = (request.query as { path?: string }).path;
      if (path === undefined || path === '') return doc;
      try {
        const value = selectPath(doc, path);
        // A scalar as plain text: what monitoring checks compare against.
        return typeof value === 'object' && value !== null ? value : reply.type('text/plain; charset=utf-8').send(String(value));
      } catch (error) {
        if (error instanceof PathError) return reply.code(404).send({ code: 'STATUS_NO_SUCH_PATH', message: error.message });
        throw error;
      }
    });

    scope.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

    scope.get('/calls', async (request, reply) => {
      const parsed = parseCallQuery(request.query as Record<string, unknown>);
      if ('error' in parsed) return reply.code(400).send({ code: 'CALLS_BAD_FILTER', message: parsed.error });
      return listCalls(o.store, o.pbx, parsed);
    });
    scope.get('/calls/:linkedid', async (request, reply) => {
      const { linkedid } = request.params as { linkedid: string };
      const report = await readCallReport(o.store, o.pbx, linkedid);
      if (report === null) return reply.code(404).send({ code: 'CALL_NOT_FOUND', message: `no call ${linkedid} in the connector store (older than http.retention_days, or not read yet)` });
      const events = await o.store.events(o.pbx, linkedid);
      // Every run's traces (a reprocessed call shows what each run decided), newest run last.
      return { ...report, runs: events.filter((e) => e.trace !== null).map((e) => ({ run: e.run, stage: e.stage, processedAt: e.processedAt, trace: e.trace })) };
    });

    scope.get('/hooks', async () => ({ hooks: o.host.status(), switchedOff: await o.store.hookSwitches(o.pbx) }));
    scope.get('/hooks/:name/source', async (request, reply) => {
      // Only a file the host has loaded (by its display name): no path from the request reaches the disk.
      const { name } = request.params as { name: string };
      const entry = o.host.status().find((h) => h.hook === name);
      if (entry === undefined) return reply.code(404).send({ code: 'HOOK_NOT_FOUND', message: `no hook '${name}' is loaded (GET /hooks lists them)` });
      const text = await readFile(entry.file, 'utf8').catch(() => null);
      if (text === null) return reply.code(404).send({ code: 'HOOK_SOURCE_UNREADABLE', message: `${entry.file} cannot be read` });
      return reply.type('text/plain; charset=utf-8').send(text);
    });
    scope.post('/hooks/:name/:action', async (request, reply) => {
      const { name, action } = request.params as { name: string; action: string };
      if (action !== 'enable' && action !== 'disable') return reply.code(404).send({ code: 'NOT_FOUND', message: `POST /hooks/<name>/enable or /disable, not ${action}` });
      const known = o.host.status().some((h) => h.hook === name || h.source.split('@')[0] === name);
      if (!known) return reply.code(404).send({ code: 'HOOK_NOT_FOUND', message: `no hook or pack '${name}' is loaded (GET /hooks lists them)` });
      await o.store.setHookSwitch(o.pbx, name, action === 'enable');
      const off = await o.store.hookSwitches(o.pbx);
      o.host.setSwitchedOff(off);
      log.info({ hook: name, by: principalName(request.principal) }, action === 'enable' ? 'hook switched on' : 'hook switched off (its point applies its default)');
      return { hook: name, enabled: action === 'enable', switchedOff: off };
    });

    scope.post('/whatif', async (request, reply) => {
      if (o.jobs?.whatIf === undefined) return reply.code(501).send({ code: 'WHATIF_UNAVAILABLE', message: 'what-if is not available in this process' });
      const abort = new AbortController();
      // The client went away before the answer: stop running the candidate (the request's own 'close' fires
      // as soon as its body is read, so the response's is the one to watch).
      reply.raw.on('close', () => { if (!reply.raw.writableFinished) abort.abort(); });
      return o.jobs.whatIf((request.body ?? {}) as WhatIfRequest, abort.signal);
    });

    scope.post('/reprocess', async (request, reply) => {
      const run = o.jobs?.reprocess;
      if (run === undefined) return reply.code(501).send({ code: 'REPROCESS_UNAVAILABLE', message: 'reprocessing is not available in this process' });
      const body = (request.body ?? {}) as { ids?: unknown; from?: unknown; to?: unknown };
      let selection: { ids: string[] } | { from: string; to?: string };
      if (Array.isArray(body.ids) && body.ids.length > 0 && body.ids.every((i) => typeof i === 'string')) selection = { ids: body.ids as string[] };
      else if (typeof body.from === 'string' && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(body.from) && (body.to === undefined || (typeof body.to === 'string' && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(body.to)))) {
        selection = typeof body.to === 'string' ? { from: body.from, to: body.to } : { from: body.from };
      } else return reply.code(400).send({ code: 'REPROCESS_BAD_SELECTION', message: 'send {"ids": ["<linkedid>", ...]} or {"from": "YYYY-MM-DD HH:MM:SS", "to": "YYYY-MM-DD HH:MM:SS"}' });
      if ([...jobs.values()].some((j) => j.state === 'running')) return reply.code(409).send({ code: 'REPROCESS_BUSY', message: 'a reprocess is running; watch it at GET /reprocess/<id>' });
      const job: ReprocessJob = { id: String(++jobSeq), total: null, done: 0, state: 'running', result: null, error: null, startedAt: new Date().toISOString() };
      jobs.set(job.id, job);
      log.info({ job: job.id, selection, by: principalName(request.principal) }, 'reprocess started');
      void run(selection, (p) => { job.total = p.total; job.done = p.done; })
        .then((result) => { job.state = 'done'; job.result = result; })
        .catch((error: unknown) => { job.state = 'failed'; job.error = error instanceof Error ? error.message : String(error); log.error({ job: job.id, err: job.error }, 'reprocess failed'); });
      return reply.code(202).send(job);
    });
    scope.get('/reprocess/:id', async (request, reply) => {
      const job = jobs.get((request.params as { id: string }).id);
      return job ?? reply.code(404).send({ code: 'REPROCESS_NOT_FOUND', message: 'no such reprocess job' });
    });

    for (const p of o.plugins ?? []) if (p.auth !== 'self') await scope.register(p.plugin, p.prefix !== undefined ? { prefix: p.prefix } : {});
  });

  // Switches persisted by an earlier run apply before the first call.
  o.host.setSwitchedOff(await o.store.hookSwitches(o.pbx));
  const address = await app.listen({ host: http.bind, port: http.port });
  log.info({ url: address }, 'admin server listening');
  return {
    url: address,
    app,
    metrics,
    recordCall: (report) => metrics.recordCall(report),
    async close() {
      await app.close();
      await cel.close();
    },
  };
}

function principalName(p: Principal | undefined): string {
  return p === undefined ? '?' : p.kind === 'session' ? p.session.user : `token #${p.index}`;
}
