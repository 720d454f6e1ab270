// Kommo users have no extension field (crm-apis.md §2.4): which user an extension is comes from
// crm.kommo.users. Names and e-mails come from GET /api/v4/users, read once and then every refreshMs (a
// failed read keeps what was there: the mapping still works without names).
import type { User } from '../../../types/call_full.js';
import type { Logger } from '../../log.js';
import type { CrmClient, JsonValue } from '../types.js';

export interface KommoUsers {
  /** The user mapped to one of these numbers (an extension's variants), or null. */
  findByNumber(variants: readonly string[]): Promise<User | null>;
  byId(id: string | number): Promise<User | null>;
  close(): void;
}

const isObject = (v: unknown): v is { [key: string]: JsonValue } => typeof v === 'object' && v !== null && !Array.isArray(v);

export function createKommoUsers(client: CrmClient, map: Readonly<Record<string, number>>, o: { refreshMs: number; logger: Logger }): KommoUsers {
  let names = new Map<string, { name: string; email: string }>();
  let loadedAt = 0;
  let loading: Promise<void> | null = null;
  const load = (): Promise<void> => {
    if (loadedAt !== 0 && Date.now() - loadedAt < o.refreshMs) return Promise.resolve();
    loading ??= (async () => {
      const r = await client.call('GET /api/v4/users', { query: { limit: 250 } }, { priority: 0 });
      loadedAt = Date.now();
      if (r.kind !== 'ok') {
        o.logger.warn({ code: 'code' in r ? r.code : '' }, 'kommo users: could not read the user list (names stay as they were)');
        return;
      }
      const list = isObject(r.result) && isObject(r.result._embedded) && Array.isArray(r.result._embedded.users) ? r.result._embedded.users : [];
      const next = new Map<string, { name: string; email: string }>();
      for (const u of list) if (isObject(u) && typeof u.id === 'number') next.set(String(u.id), { name: String(u.name ?? ''), email: String(u.email ?? '') });
      names = next;
    })().finally(() => {
      loading = null;
    });
    return loading;
  };
  const userOf = (id: string): User => {
    const n = names.get(id);
    return { id, name: n?.name ?? '', email: n?.email ?? '', phones: Object.entries(map).filter(([, v]) => String(v) === id).map(([k]) => k), position: '', raw: n ? { id: Number(id), name: n.name } : { id: Number(id) } };
  };
  return {
    async findByNumber(variants) {
      const hit = variants.map((v) => map[v]).find((id) => id !== undefined);
      if (hit === undefined) return null;
      await load();
      return userOf(String(hit));
    },
    async byId(id) {
      const s = String(id);
      if (s === '' || s === '0') return null;
      await load();
      return userOf(s);
    },
    close() {
      loadedAt = 0;
    },
  };
}
