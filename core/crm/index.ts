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

export interface CrmRuntime {
  kind: Settings['crm']['type'];
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
    return { kind: 'none', client: null, portal: 'none', kit: kitOf(null), describe: 'none (crm.type none: hooks run, nothing is sent)', close: async () => undefined };
  }
  let local: LocalBitrix24 | null = null;
  let b24 = crm.bitrix24;
  if (crm.type === 'demo') {
    local = await startLocalBitrix24({ timeZone: zone === '' ? 'UTC' : zone });
    b24 = { ...b24, webhook_url: local.webhookUrl, oauth: { ...b24.oauth, portal_url: '' } };
  }
  const client = createBitrix24Client(b24, { logger: deps.logger, tokenStore: deps.tokens });
  const users = createUserDirectory(client, { refreshMs: b24.users_refresh_seconds * 1000, logger: deps.logger });
  const portal = portalOf(b24);
  return {
    kind: crm.type,
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
