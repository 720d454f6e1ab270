// The click-to-call and routing endpoints as a fastify plugin (mounted by the admin server, or by
// startClickToCallServer on its own). Every route authenticates its own requests:
//   POST /click-to-call/bitrix24   Bitrix24 event handler (form-encoded); auth[application_token] must match
//                                  click_to_call.bitrix24.application_token
//   POST /click-to-call/kommo      JSON {phone, user_id, extension?}; click_to_call.token in X-Callhook-Token or ?token=
//   GET  /autodistribution         ?number=…; the same token; answers text/plain "extension|name" or "" (for CURL())
// Tokens are compared in constant time; every route is rate-limited per client address.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiter, sameSecret } from './auth.js';
import { MIN_TOKEN_LENGTH as MIN_TOKEN } from './settings.js';
import { parseBitrix24Event } from './bitrix24-event.js';
import type { Router } from './routing.js';
import type { ClickToCallService, ClickToCallSettings } from './service.js';

export interface ClickToCallRoutesOptions {
  settings: ClickToCallSettings;
  service: ClickToCallService;
  router: Router;
}


function tokenOf(req: FastifyRequest): string {
  const header = req.headers['x-callhook-token'];
  if (typeof header === 'string') return header;
  const q = req.query as Record<string, unknown> | undefined;
  return typeof q?.token === 'string' ? q.token : '';
}

export const clickToCallRoutes: FastifyPluginAsync<ClickToCallRoutesOptions> = async (app, o) => {
  const s = o.settings;
  const limiter = new RateLimiter(s.rate_limit_per_minute);
  const limited = (req: FastifyRequest, reply: FastifyReply, name: string): boolean => {
    if (limiter.take(`${req.ip} ${name}`)) return false;
    void reply.code(429).header('retry-after', '60').send({ code: 'RATE_LIMITED', message: `more than ${s.rate_limit_per_minute} requests a minute (click_to_call.rate_limit_per_minute)` });
    return true;
  };
  const tokenRefused = (req: FastifyRequest, reply: FastifyReply): boolean => {
    if (s.token.length < MIN_TOKEN) {
      void reply.code(503).send({ code: 'C2C_TOKEN_NOT_SET', message: `click_to_call.token is not set (at least ${MIN_TOKEN} characters): the endpoint refuses every request until it is` });
      return true;
    }
    if (sameSecret(tokenOf(req), s.token)) return false;
    void reply.code(401).send({ code: 'C2C_BAD_TOKEN', message: 'missing or wrong token (X-Callhook-Token header or ?token=)' });
    return true;
  };

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, body));

  app.post('/click-to-call/bitrix24', async (req, reply) => {
    if (limited(req, reply, 'bitrix24')) return reply;
    const body = typeof req.body === 'string' ? req.body : '';
    const event = parseBitrix24Event(body);
    if (event.kind === 'bad') return reply.code(400).send({ code: 'C2C_BAD_EVENT', message: event.message });
    if (s.bitrix24.application_token === '' || !sameSecret(event.applicationToken, s.bitrix24.application_token)) {
      req.log.warn({ code: 'C2C_BAD_APPLICATION_TOKEN' }, 'a Bitrix24 event with a missing or wrong auth[application_token] was refused');
      return reply.code(401).send({ code: 'C2C_BAD_APPLICATION_TOKEN', message: 'auth[application_token] does not match click_to_call.bitrix24.application_token' });
    }
    if (event.kind === 'other') return reply.send({ ignored: event.event });
    const c = event.call;
    const result = await o.service.start({
      crm: 'bitrix24', userId: c.userId, extension: '', phone: c.phoneNumber !== '' ? c.phoneNumber : c.phoneNumberInternational, crmCallId: c.callId,
      requestData: { event: 'ONEXTERNALCALLSTART', PHONE_NUMBER: c.phoneNumber, PHONE_NUMBER_INTERNATIONAL: c.phoneNumberInternational, USER_ID: c.userId, CALL_ID: c.callId, CRM_ENTITY_TYPE: c.crmEntityType, CRM_ENTITY_ID: c.crmEntityId, LINE_NUMBER: c.lineNumber },
    });
    return reply.code(result.status === 'failed' ? 502 : 200).send(result);
  });

  app.post('/click-to-call/kommo', async (req, reply) => {
    if (limited(req, reply, 'kommo')) return reply;
    if (tokenRefused(req, reply)) return reply;
    const b = req.body as Record<string, unknown> | null;
    const phone = typeof b?.phone === 'string' ? b.phone : '';
    const userId = typeof b?.user_id === 'string' || typeof b?.user_id === 'number' ? String(b.user_id) : '';
    const extension = typeof b?.extension === 'string' ? b.extension : '';
    if (phone === '' || (userId === '' && extension === '')) {
      return reply.code(400).send({ code: 'C2C_BAD_REQUEST', message: 'the body must be JSON {"phone": "...", "user_id": <Kommo user id>} (or "extension" instead of user_id)' });
    }
    const result = await o.service.start({ crm: 'kommo', userId, extension, phone, crmCallId: '', requestData: { phone, user_id: userId, extension } });
    return reply.code(result.status === 'failed' ? 502 : 200).send(result);
  });

  app.get('/autodistribution', async (req, reply) => {
    if (limited(req, reply, 'autodistribution')) return reply;
    if (tokenRefused(req, reply)) return reply;
    const q = req.query as Record<string, unknown>;
    const number = typeof q.number === 'string' ? q.number : '';
    const a = await o.router.route(number);
    void reply.header('x-callhook-source', a.source).header('x-callhook-ms', String(a.ms)).type('text/plain; charset=utf-8');
    // "|" and line breaks would break the dialplan's CUT(): the name keeps neither.
    return a.extension === '' ? '' : `${a.extension}|${a.name.replace(/[|\r\n]/g, ' ').slice(0, 64)}`;
  });
};
