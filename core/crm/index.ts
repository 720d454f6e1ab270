// The CRM a settings file names, ready for the pipeline: the client (auth, limits, classification),
// the pieces the stage program reads answers with, and for the demo the local Bitrix24 it started.
import type { Logger } from 'pino';
import type { Settings } from '../../types/settings.js';
import type { Bitrix24Kit } from '../pipeline/bitrix24.js';
import { startLocalBitrix24, formatSummary, type LocalBitrix24 } from '../demo-crm/bitrix24/index.js';
import { createBitrix24Client } from './bitrix24/client.js';
import { bitrixDateTime } from './bitrix24/time.js';
import { createUserDirectory } from './bitrix24/users.js';
import type { CrmClient, TokenStore } from './types.js';
import { createKommoClient } from './kommo/client.js';
import { createKommoUsers, type KommoUsers } from './kommo/users.js';
import { startLocalKommo, type LocalKommo } from '../demo-crm/kommo/index.js';

export interface CrmRuntime {
  kind: Settings['crm']['type'];
  /** Which stage program the calls go through. */
  program: 'bitrix24' | 'kommo';
  /** Kommo: extension → user (crm.kommo.users) with names from the account; null otherwise. */
  kommoUsers: KommoUsers | null;
  /** The settings of the account in use (for the demo: pointed at the local one). */
  kommoSettings?: Settings['crm']['kommo'];
  /** null: nothing is sent (crm.type none). */
  client: CrmClient | null;
  /** Portal host, as outbox entries and the status name it. */
  portal: string;
  kit: Bitrix24Kit;
  /** One line for the start-up banner (never a secret). */
  describe: string;
  /** The demo CRM: what it received so far, one line per call. */
  received?(): string;
  close(): Promise<void>;
}

export interface OpenCrmDeps {
  logger: Logger;
  tokens: TokenStore;
}

function portalOf(settings: Settings['crm']['bitrix24']): string {
  const url = settings.webhook_url !== '' ? settings.webhook_url : settings.oauth.portal_url;
  try {
    return new URL(url).host;
  } catch {
    return 'bitrix24';
  }
}

export async function openCrm(settings: Settings, deps: OpenCrmDeps): Promise<CrmRuntime> {
  const crm = settings.crm;
  const zone = settings.calls.pbx_time_zone;
  const kitOf = (users: Bitrix24Kit['users']): Bitrix24Kit => ({ users, dateTime: (pbxLocal) => bitrixDateTime(pbxLocal, zone) });
  if (crm.type === 'none') {
    return { kind: 'none', program: 'bitrix24', kommoUsers: null, client: null, portal: 'none', kit: kitOf(null), describe: 'none (crm.type none: hooks run, nothing is sent)', close: async () => undefined };
  }
  const caFile = crm.ca_file !== '' ? crm.ca_file : undefined;
  if (crm.type === 'kommo' || crm.type === 'demo_kommo') {
    let local: LocalKommo | null = null;
    let kommo = crm.kommo;
    if (crm.type === 'demo_kommo') {
      local = await startLocalKommo();
      kommo = {
        ...kommo, base_url: local.url, long_lived_token: local.token,
        // The demo account's users are the demo PBX's extensions 200-204, 211, 212.
        users: Object.keys(kommo.users).length > 0 ? kommo.users : { 200: 1, 201: 2, 202: 3, 203: 4, 204: 5, 211: 6, 212: 7 },
      };
    }
    const client = createKommoClient(kommo, { logger: deps.logger, ...(caFile !== undefined ? { caFile } : {}) });
    const users = createKommoUsers(client, kommo.users, { refreshMs: 300_000, logger: deps.logger });
    return {
      kind: crm.type, program: 'kommo', kommoUsers: users, kommoSettings: kommo, client, portal: client.account, kit: kitOf(null),
      describe: local !== null ? `demo Kommo at ${local.url} (local, started by callhook: nothing reaches a real CRM)` : `Kommo ${client.account}`,
      ...(local !== null ? { received: () => (local as LocalKommo).summary() } : {}),
      async close() {
        users.close();
        await client.close();
        await local?.close();
      },
    };
  }
  let local: LocalBitrix24 | null = null;
  let b24 = crm.bitrix24;
  if (crm.type === 'demo') {
    local = await startLocalBitrix24({ timeZone: zone === '' ? 'UTC' : zone });
    b24 = { ...b24, webhook_url: local.webhookUrl, oauth: { ...b24.oauth, portal_url: '' } };
  }
  const client = createBitrix24Client(b24, { logger: deps.logger, tokenStore: deps.tokens, ...(caFile !== undefined ? { caFile } : {}) });
  const users = createUserDirectory(client, { refreshMs: b24.users_refresh_seconds * 1000, logger: deps.logger });
  const portal = portalOf(b24);
  return {
    kind: crm.type,
    program: 'bitrix24',
    kommoUsers: null,
    client,
    portal,
    kit: kitOf(users),
    describe: local !== null ? `demo Bitrix24 at ${local.url} (local, started by callhook: nothing reaches a real CRM)` : `Bitrix24 ${portal}`,
    // One line per call, in call order (registration order depends on which call's requests went first).
    ...(local !== null ? { received: () => formatSummary((local as LocalBitrix24).state).split('\n').filter((l) => l !== '').sort().join('\n') } : {}),
    async close() {
      users.close();
      await client.close();
      await local?.close();
    },
  };
}
