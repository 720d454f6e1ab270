// Responsible-manager routing (autodistribution, itgrix-customizer.md §6.3): the dialplan asks, through
// CURL(), which extension should take a call from this number; the answer is the responsible employee of
// the client's CRM entity, through customize_autodistribution. A caller must never wait on the CRM: the
// answer comes within budget_ms, empty when the CRM is slow or down (the dialplan then takes its normal
// route), and a lookup that finishes after the budget still fills the cache for the next call.
import type { Logger } from 'pino';
import type { HookHost } from '../../hooks/index.js';
import type { User } from '../../types/call_full.js';
import type { CrmClient, JsonValue } from '../crm/types.js';

export interface RoutingAnswer {
  extension: string;
  name: string;
  /** cache | crm | budget (the budget ran out: empty) | error (the CRM failed: empty) | none (no CRM) */
  source: 'cache' | 'crm' | 'budget' | 'error' | 'none';
  ms: number;
}

export interface RoutingDeps {
  crm: CrmClient | null;
  users: { byId(id: string): Promise<User | null> } | null;
  host: Pick<HookHost, 'runPoint'>;
  /** Every form of the number the CRM may have stored (the number model's variants). */
  variants(number: string): string[];
  budgetMs: number;
  cacheSeconds: number;
  logger: Logger;
  now?(): number;
}

export interface Router {
  route(number: string): Promise<RoutingAnswer>;
  /** Lookups still running after their budget (tests, shutdown). */
  settled(): Promise<void>;
}

const CACHE_MAX = 10_000;

const str = (v: JsonValue | undefined): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

export function createRouter(d: RoutingDeps): Router {
  const now = d.now ?? Date.now;
  const cache = new Map<string, { extension: string; name: string; until: number }>();
  const running = new Map<string, Promise<{ extension: string; name: string }>>();

  async function call(method: string, params: Record<string, JsonValue>): Promise<Record<string, JsonValue> | null> {
    const o = await d.crm!.call(method, params);
    if (o.kind !== 'ok') throw new Error(`${method}: ${o.kind} ${'code' in o ? o.code : ''}`);
    const r = o.result;
    return r !== null && typeof r === 'object' && !Array.isArray(r) ? r : null;
  }

  async function lookUp(number: string): Promise<{ extension: string; name: string }> {
    let extension = '';
    let name = '';
    const found = await call('crm.duplicate.findbycomm', { type: 'PHONE', values: [...new Set([number, ...d.variants(number)])].slice(0, 20) });
    const pick = (['CONTACT', 'COMPANY', 'LEAD'] as const).map((t) => [t, found?.[t]] as const).find(([, ids]) => Array.isArray(ids) && ids.length > 0);
    if (pick !== undefined) {
      const [type, ids] = pick;
      const entity = await call(`crm.${type.toLowerCase()}.get`, { id: str((ids as JsonValue[])[0]) });
      name = str(entity?.TITLE) || [str(entity?.NAME), str(entity?.LAST_NAME)].filter((x) => x !== '').join(' ') || str(entity?.COMPANY_TITLE);
      const user = await d.users?.byId(str(entity?.ASSIGNED_BY_ID));
      const inner = user?.raw?.UF_PHONE_INNER;
      extension = typeof inner === 'string' || typeof inner === 'number' ? String(inner) : '';
    }
    const hooked = await d.host.runPoint('customize_autodistribution', { client_phone: number, extension, call_full: null }, { stage: 'autodistribution' });
    if (typeof hooked.value === 'string') extension = hooked.value;
    return { extension, name };
  }

  return {
    async route(raw) {
      const started = now();
      const number = raw.replace(/[^\d+]/g, '').slice(0, 32);
      const ms = (): number => now() - started;
      const hit = cache.get(number);
      if (hit !== undefined && hit.until > started) return { extension: hit.extension, name: hit.name, source: 'cache', ms: ms() };
      if (d.crm === null || number === '') return { extension: '', name: '', source: 'none', ms: ms() };
      let lookup = running.get(number);
      if (lookup === undefined) {
        lookup = lookUp(number);
        running.set(number, lookup);
        lookup.then(
          (a) => {
            if (d.cacheSeconds > 0) {
              if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
              cache.set(number, { ...a, until: now() + d.cacheSeconds * 1000 });
            }
          },
          (e: unknown) => d.logger.warn({ code: 'ROUTING_CRM_FAILED' }, `routing lookup failed: ${e instanceof Error ? e.message : String(e)}`),
        ).finally(() => running.delete(number));
      }
      let timer: NodeJS.Timeout | undefined;
      const budget = new Promise<'budget'>((resolve) => {
        timer = setTimeout(() => resolve('budget'), Math.max(0, d.budgetMs - ms()));
      });
      try {
        const r = await Promise.race([lookup, budget]);
        if (r === 'budget') return { extension: '', name: '', source: 'budget', ms: ms() };
        return { ...r, source: 'crm', ms: ms() };
      } catch {
        return { extension: '', name: '', source: 'error', ms: ms() };
      } finally {
        clearTimeout(timer);
      }
    },
    async settled() {
      while (running.size > 0) await Promise.allSettled([...running.values()]);
    },
  };
}
