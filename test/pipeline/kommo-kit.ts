// Shared by the Kommo end-to-end, fault and kill tests: settings for a live run against a MariaDB CEL table
// and the local Kommo account, and what the account received per call (by its uniq).
import { writeFileSync } from 'node:fs';
import type { LocalKommo, KommoCall } from '../../core/demo-crm/kommo/index.js';
import { kommoUniq } from '../../core/pipeline/index.js';
import { DB } from '../fixtures/cel-sources/db.js';

/** Extensions of the corpora → the local account's user ids (as the demo Bitrix24's seed numbers them). */
export const KOMMO_USERS: Record<string, number> = { 200: 1, 201: 2, 202: 3, 203: 4, 204: 5, 211: 6, 212: 7, 1001: 8, 1045: 9, 1603: 10, 1101: 11, 1102: 12 };

export function kommoSeedUsers(): Array<{ id: number; name: string }> {
  return [...new Set(Object.values(KOMMO_USERS))].map((id) => ({ id, name: `User ${id}` }));
}

export function kommoLiveSettings(o: {
  file: string;
  celDatabase: string;
  stateDatabase: string;
  kommo: LocalKommo;
  hooksFolder?: string;
  recordingsRoot?: string;
  calls?: object;
  settings?: object;
  delivery?: object;
  recordings?: object;
}): string {
  const settings = {
    cel: {
      source: 'mariadb',
      mariadb: { ...DB, database: o.celDatabase, table: 'cel', state_database: o.stateDatabase, poll_interval_min_ms: 20, poll_interval_max_ms: 200, gap_wait_ms: 0 },
    },
    calls: o.calls ?? {},
    crm: {
      type: 'kommo',
      kommo: { base_url: o.kommo.url, long_lived_token: o.kommo.token, users: KOMMO_USERS, default_user_id: 1, ...(o.settings ?? {}) },
      delivery: { retry_min_ms: 50, retry_max_ms: 1000, ...(o.delivery ?? {}) },
    },
    hooks: { ...(o.hooksFolder !== undefined ? { folder: o.hooksFolder } : {}), watch: false, ...(o.recordingsRoot !== undefined ? { recordings_root: o.recordingsRoot } : {}) },
    recordings: { stable_ms: 300, wait_seconds: 10, retry_ms: 200, link: { listen: '127.0.0.1:0', secret: 'k'.repeat(40) }, ...(o.recordings ?? {}) },
  };
  writeFileSync(o.file, JSON.stringify(settings, null, 2));
  return o.file;
}

/** Calls the account registered, by uniq (POST /api/v4/calls and unsorted call events). */
export function callsByUniq(kommo: LocalKommo): Map<string, KommoCall[]> {
  const map = new Map<string, KommoCall[]>();
  for (const c of kommo.state.calls) {
    const uniq = String(c.body.uniq ?? '');
    map.set(uniq, [...(map.get(uniq) ?? []), c]);
  }
  return map;
}

export interface KommoDelivery {
  duplicates: number;
  lost: number;
  /** Contacts created for one number more than once. */
  duplicateContacts: number;
}

export function kommoDelivery(kommo: LocalKommo, pbx: string, linkedids: readonly string[]): KommoDelivery {
  const calls = callsByUniq(kommo);
  let duplicates = 0;
  let lost = 0;
  for (const id of linkedids) {
    const n = calls.get(kommoUniq(pbx, id))?.length ?? 0;
    if (n === 0) lost++;
    if (n > 1) duplicates += n - 1;
  }
  const perPhone = new Map<string, number>();
  for (const c of kommo.state.contacts.values()) for (const p of c.phones) perPhone.set(p, (perPhone.get(p) ?? 0) + 1);
  const duplicateContacts = [...perPhone.values()].reduce((n, k) => n + Math.max(0, k - 1), 0);
  return { duplicates, lost, duplicateContacts };
}
