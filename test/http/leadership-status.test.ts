// The role of each instance (issue 15) as an operator sees it: two live connectors for one PBX, each with
// its admin server; /status says which one leads and /metrics has callhook_leader 1 for it, 0 for the
// standby; when the leader stops, the standby's /status turns to leader.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { startLocalBitrix24 } from '../../core/demo-crm/bitrix24/index.js';
import { connectRoot, freepbxCelDdl, uniqueName } from '../fixtures/cel-sources/db.js';
import { liveSettings, startConnector, waitUntil, type ConnectorChild } from '../pipeline/kit.js';

const TOKEN = 'leadership-status-token-0123456789';
let root: mysql.Connection | undefined;
let skip: string | undefined;
const databases: string[] = [];
let dir = '';

before(async () => {
  const r = await connectRoot();
  if ('skip' in r) skip = r.skip;
  else root = r.conn;
  dir = mkdtempSync(path.join(tmpdir(), 'callhook-leadership-status-'));
});

after(async () => {
  if (root) {
    for (const db of databases) await root.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await root.end();
  }
  rmSync(dir, { recursive: true, force: true });
});

function adminUrl(c: ConnectorChild): string | null {
  return /^admin server (http:\/\/\S+)$/m.exec(c.stderr())?.[1] ?? null;
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const r = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: r.status, text: await r.text() };
}

async function role(c: ConnectorChild): Promise<unknown> {
  const url = adminUrl(c);
  if (url === null) return null;
  const r = await get(`${url}/status?path=leadership.role`);
  return r.status === 200 ? r.text.trim() : null;
}

test('/status and /metrics show which instance leads and which stands by; the standby takes over when the leader stops', { timeout: 120_000 }, async (t) => {
  if (skip !== undefined) {
    if (process.env.CI === 'true') assert.fail(`MariaDB is needed: ${skip}`);
    t.skip(skip);
    return;
  }
  const conn = root!;
  const cel = uniqueName('leadstat_cel');
  const state = uniqueName('leadstat_state');
  databases.push(cel, state);
  await conn.query(`CREATE DATABASE \`${cel}\``);
  await conn.query(freepbxCelDdl(cel));
  await conn.query(`CREATE DATABASE \`${state}\``);
  const crm = await startLocalBitrix24({});
  const children: ConnectorChild[] = [];
  try {
    const start = (name: string): ConnectorChild => {
      const file = liveSettings({ file: path.join(dir, `${name}.json`), celDatabase: cel, stateDatabase: state, webhookUrl: crm.webhookUrl, leadership: { instance: name, lease_ms: 3000, renew_ms: 750 } });
      const settings = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      writeFileSync(file, JSON.stringify({ ...settings, http: { port: 0, tokens: [TOKEN] } }));
      const child = startConnector(file);
      children.push(child);
      return child;
    };
    const a = start('a');
    await waitUntil('instance a to lead', async () => (await role(a)) === 'leader', 60_000, () => a.stderr().slice(-2000));
    const b = start('b');
    await waitUntil('instance b to stand by', async () => (await role(b)) === 'standby', 60_000, () => b.stderr().slice(-2000));

    const metricsA = (await get(`${adminUrl(a)!}/metrics`)).text;
    const metricsB = (await get(`${adminUrl(b)!}/metrics`)).text;
    assert.match(metricsA, /^callhook_leader\{[^}]*instance="a"[^}]*\} 1$/m);
    assert.match(metricsB, /^callhook_leader\{[^}]*instance="b"[^}]*\} 0$/m);
    const statusB = JSON.parse((await get(`${adminUrl(b)!}/status`)).text) as { leadership: { holder: string | null } };
    assert.match(String(statusB.leadership.holder), /^a\b/, 'the standby names the leader it sees');

    await a.stop('SIGTERM');
    await waitUntil('instance b to take over', async () => (await role(b)) === 'leader', 30_000, () => b.stderr().slice(-2000));
  } finally {
    for (const c of children) c.kill();
    await crm.close();
  }
});
