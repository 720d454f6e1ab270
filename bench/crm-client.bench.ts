// Bitrix24 client benchmarks (npm run bench -- crm-client), against the local portal on 127.0.0.1:
// 1. per-request cost of the client (limiter, classification, redaction) against plain axios.post of the
//    same request in the same run, portal limits off;
// 2. draining a backlog against the portal's default leaky bucket (2 req/s, burst 50): requests sent,
//    503s received, the rate after the burst as a share of the portal's limit; baseline in the same run: a
//    naive sender that sleeps 1/rate between sequential requests (what connectors commonly do).
import axios from 'axios';
import { createBitrix24Client } from '../core/crm/bitrix24/index.js';
import { createLogger } from '../core/log.js';
import { loadSettings } from '../core/settings/index.js';
import { startLocalBitrix24, type LocalBitrix24 } from '../core/demo-crm/bitrix24/index.js';

const logger = createLogger({ level: 'silent' });
const defaults = (await loadSettings()).crm.bitrix24;
const users = Array.from({ length: 20 }, (_, i) => ({ ID: i + 1, NAME: `U${i}`, UF_PHONE_INNER: String(200 + i) }));
const body = { FILTER: { UF_PHONE_INNER: '205' } };

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}
const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;

async function overhead(): Promise<void> {
  const s = await startLocalBitrix24({ users, limits: { enabled: false } });
  const client = createBitrix24Client({ ...defaults, webhook_url: s.webhookUrl, requests_per_second: 100, burst: 1000 }, { logger });
  const http = axios.create({ responseType: 'text', transformResponse: [(d: unknown) => d], validateStatus: () => true, maxRedirects: 0 });
  const rounds = 400;
  const plain: number[] = [];
  const viaClient: number[] = [];
  // Warm both paths, then alternate so drift on the shared machine hits both alike.
  for (let i = 0; i < 50; i++) {
    await http.post(`${s.webhookUrl}user.get.json`, JSON.stringify(body), { headers: { 'Content-Type': 'application/json' } });
    await client.call('user.get', body);
  }
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    const r = await http.post<string>(`${s.webhookUrl}user.get.json`, JSON.stringify(body), { headers: { 'Content-Type': 'application/json' } });
    JSON.parse(r.data);
    plain.push(performance.now() - t);
    t = performance.now();
    const o = await client.call('user.get', body);
    viaClient.push(performance.now() - t);
    if (o.kind !== 'ok') throw new Error(`unexpected ${o.kind}`);
  }
  console.log(`per request, ${rounds} sequential user.get on 127.0.0.1 (portal limits off):`);
  console.log(`  plain axios.post + JSON.parse (baseline)  p50 ${us(pct(plain, 50))}  p95 ${us(pct(plain, 95))}`);
  console.log(`  Bitrix24 client call()                    p50 ${us(pct(viaClient, 50))}  p95 ${us(pct(viaClient, 95))}   ratio p50 ×${(pct(viaClient, 50) / pct(plain, 50)).toFixed(2)}`);
  await client.close();
  await s.close();
}

function rateAfter(s: LocalBitrix24, skip: number): number {
  const t = s.received.filter((r) => r.status === 200).map((r) => r.atMs).slice(skip);
  return (t.length - 1) / ((t[t.length - 1]! - t[0]!) / 1000);
}

async function drain(): Promise<void> {
  const n = 80;
  const rate = defaults.requests_per_second;
  const s = await startLocalBitrix24({ users, limits: { requestsPerSecond: rate, burst: defaults.burst } });
  const client = createBitrix24Client({ ...defaults, webhook_url: s.webhookUrl }, { logger });
  const t0 = performance.now();
  const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => client.call('user.get', { ...body, start: i }, { priority: i })));
  const took = (performance.now() - t0) / 1000;
  const ok = outcomes.filter((o) => o.kind === 'ok').length;
  const refused = s.received.filter((r) => r.status === 503).length;
  const burst = Math.min(n, 40);
  const clientRate = rateAfter(s, burst);
  await client.close();
  await s.close();

  const naive = await startLocalBitrix24({ users, limits: { requestsPerSecond: rate, burst: defaults.burst } });
  const t1 = performance.now();
  for (let i = 0; i < n; i++) {
    await fetch(`${naive.webhookUrl}user.get.json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, start: i }) }).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 1000 / rate));
  }
  const naiveTook = (performance.now() - t1) / 1000;
  const naiveRate = rateAfter(naive, 0);
  await naive.close();

  console.log(`backlog of ${n} requests against the portal's leaky bucket (${rate} req/s, burst ${defaults.burst}), client settings at their defaults:`);
  console.log(`  client: ${ok}/${n} ok, ${refused} × 503, ${took.toFixed(1)} s; after the burst of ${burst}: ${clientRate.toFixed(3)} req/s = ${((clientRate / rate) * 100).toFixed(1)} % of the limit (target ≥ 95 %)`);
  console.log(`  naive sleep-${(1000 / rate).toFixed(0)}-ms sender (baseline): ${naiveTook.toFixed(1)} s, ${naiveRate.toFixed(3)} req/s = ${((naiveRate / rate) * 100).toFixed(1)} %   client/baseline time ×${(took / naiveTook).toFixed(2)}`);
}

await overhead();
await drain();
