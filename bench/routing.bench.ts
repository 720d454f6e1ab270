// Responsible-manager routing (npm run bench -- routing): answer times of GET /autodistribution as the
// dialplan's CURL() sees them (fastify plugin on 127.0.0.1, real Bitrix24 client, local Bitrix24), with the
// CRM fast (uncached and cached), slow (1 s per request), stalled (never answers) and down (connection
// dropped). Figures: p50/p99 against the budget. Baseline in the same run: the same lookup made directly
// (what a routing script without a budget does), whose p50 under a slow CRM is the time a caller would wait.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fastify from 'fastify';
import { createBitrix24Client } from '../core/crm/bitrix24/index.js';
import { createUserDirectory } from '../core/crm/bitrix24/users.js';
import { createLogger } from '../core/log.js';
import { loadSettings } from '../core/settings/index.js';
import { startLocalBitrix24, demoSeed } from '../core/demo-crm/bitrix24/index.js';
import { AmiClient } from '../core/ami/client.js';
import { clickToCallRoutes, createClickToCall, createRouter } from '../core/click-to-call/index.js';
import { createConnectorStore, openSqliteDriver } from '../core/store/index.js';
import { createHookHost } from '../hooks/index.js';

const BUDGET = 300;
const N = 60;
const TOKEN = 'bench-token-0123456789abcdef';
const logger = createLogger({ level: 'silent' });
const settings = await loadSettings();
const crm = await startLocalBitrix24({ ...demoSeed(), limits: { enabled: false } });
const client = createBitrix24Client({ ...settings.crm.bitrix24, webhook_url: crm.webhookUrl, requests_per_second: 100, burst: 1000 }, { logger });
const users = createUserDirectory(client, { refreshMs: 600_000, logger });
await users.ready();
const dir = mkdtempSync(path.join(tmpdir(), 'callhook-routing-bench-'));
const host = await createHookHost({ folder: dir, isolation: 'inline', watch: false, typecheck: false, logger });
const store = await createConnectorStore(openSqliteDriver(path.join(dir, 'store.sqlite')));
const ami = new AmiClient({ host: '127.0.0.1', port: 1, username: 'x', secret: 'x', reconnect: false });

async function mount(cacheSeconds: number): Promise<{ url: string; close(): Promise<void> }> {
  const s = { ...settings.click_to_call, token: TOKEN, rate_limit_per_minute: 100_000 };
  const router = createRouter({ crm: client, users, host, variants: (n) => [n], budgetMs: BUDGET, cacheSeconds, logger });
  const service = createClickToCall({ settings: s, store, pbx: 'bench', host, ami, crm: client, users, logger });
  const app = fastify({ logger: false });
  await app.register(clickToCallRoutes, { settings: s, service, router });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, close: async () => { await router.settled(); await app.close(); } };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

async function series(name: string, cacheSeconds: number, fault: Parameters<typeof crm.faults.set>[0] | null, numberOf: (i: number) => string): Promise<void> {
  const m = await mount(cacheSeconds);
  if (fault) crm.faults.set(fault);
  const times: number[] = [];
  const sources = new Map<string, number>();
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    const res = await fetch(`${m.url}/autodistribution?number=${numberOf(i)}&token=${TOKEN}`);
    await res.text();
    times.push(performance.now() - t);
    const src = res.headers.get('x-callhook-source') ?? '?';
    sources.set(src, (sources.get(src) ?? 0) + 1);
  }
  crm.faults.clear();
  await m.close();
  const p99 = pct(times, 99);
  console.log(`routing, CRM ${name.padEnd(16)} p50 ${pct(times, 50).toFixed(1).padStart(6)} ms  p99 ${p99.toFixed(1).padStart(6)} ms  budget ${BUDGET} ms  p99/budget ${(p99 / BUDGET).toFixed(2)}  answers: ${[...sources].map(([k, v]) => `${k} ${v}`).join(', ')}`);
}

async function naive(name: string, fault: Parameters<typeof crm.faults.set>[0] | null): Promise<void> {
  if (fault) crm.faults.set(fault);
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    await client.call('crm.duplicate.findbycomm', { type: 'PHONE', values: ['15551234'] });
    await client.call('crm.contact.get', { id: 1 });
    times.push(performance.now() - t);
  }
  crm.faults.clear();
  console.log(`baseline (direct lookup, no budget), CRM ${name}: p50 ${pct(times, 50).toFixed(1)} ms, p99 ${pct(times, 99).toFixed(1)} ms`);
}

try {
  await series('fast, uncached', 0, null, () => '15551234');
  await series('fast, cached', 300, null, () => '15551234');
  await series('slow (1 s)', 300, { kind: 'slow', delayMs: 1000 }, (i) => `1555${1000 + i}`);
  await series('stalled', 300, { kind: 'stall' }, (i) => `1556${1000 + i}`);
  await series('down (drop)', 0, { kind: 'drop' }, () => '15551234');
  await naive('fast', null);
  await naive('slow (1 s)', { kind: 'slow', delayMs: 1000 });
} finally {
  await host.close();
  users.close();
  await client.close();
  await crm.close();
  await store.close();
  await ami.close();
  rmSync(dir, { recursive: true, force: true });
}
