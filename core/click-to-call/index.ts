// Click-to-call and routing, wired from settings: the AMI client, the service, the router, and the
// endpoints on their own fastify server (until the admin server mounts clickToCallRoutes itself).
import fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { AmiClient } from '../ami/client.js';
import type { Settings } from '../settings/index.js';
import type { ConnectorRuntime } from '../run/runtime.js';
import { clickToCallRoutes } from './routes.js';
import { createRouter, type Router } from './routing.js';
import { createClickToCall, type ClickToCallService } from './service.js';

export { clickToCallRoutes, type ClickToCallRoutesOptions } from './routes.js';
export { createClickToCall, type ClickToCallService } from './service.js';
export { createRouter, type Router } from './routing.js';

export interface ClickToCallServer {
  url: string;
  ami: AmiClient;
  service: ClickToCallService;
  router: Router;
  app: FastifyInstance;
  close(): Promise<void>;
}

export function amiClientFromSettings(ami: Settings['ami']): AmiClient {
  return new AmiClient({
    host: ami.host, port: ami.port, username: ami.username, secret: ami.secret, keepaliveMs: ami.keepalive_seconds * 1000,
    actionTimeoutMs: ami.action_timeout_ms, reconnectMinMs: ami.reconnect.min_ms, reconnectMaxMs: ami.reconnect.max_ms,
  });
}

/** Starts the AMI connection (in the background: AMI down must not stop the connector) and the endpoints. */
export async function startClickToCallServer(
  settings: Settings, runtime: Pick<ConnectorRuntime, 'store' | 'pbx' | 'host' | 'crm' | 'numbers'>, logger: Logger,
): Promise<ClickToCallServer> {
  const c = settings.click_to_call;
  const log = logger.child({ component: 'click-to-call' });
  const ami = amiClientFromSettings(settings.ami);
  ami.on('connected', (e: { afterMs: number }) => log.info({ afterMs: e.afterMs }, `AMI ${settings.ami.host}:${settings.ami.port}: logged in`));
  ami.on('disconnected', (e: { error: Error }) => log.warn({ code: 'AMI_DISCONNECTED' }, `AMI ${settings.ami.host}:${settings.ami.port}: ${e.error.message}; reconnecting`));
  ami.start().catch((e: unknown) => log.error({ code: 'AMI_LOGIN_FAILED' }, e instanceof Error ? e.message : String(e)));
  const users = runtime.crm.kit.users ? { byId: (id: string) => runtime.crm.kit.users!.byId(id) } : null;
  const service = createClickToCall({ settings: c, store: runtime.store, pbx: runtime.pbx, host: runtime.host, ami, crm: runtime.crm.client, users, logger });
  const router = createRouter({
    crm: runtime.crm.client, users, host: runtime.host, variants: (n) => runtime.numbers.build(n).variants,
    budgetMs: c.autodistribution.budget_ms, cacheSeconds: c.autodistribution.cache_seconds, logger,
  });
  const app = fastify({ logger: false, bodyLimit: 64 * 1024 });
  await app.register(clickToCallRoutes, { settings: c, service, router });
  const address = await app.listen({ host: c.listen.host, port: c.listen.port });
  log.info({ url: address }, `click-to-call endpoints listening on ${address}`);
  return {
    url: address, ami, service, router, app,
    async close() {
      await app.close();
      await service.settled();
      await ami.close();
    },
  };
}
