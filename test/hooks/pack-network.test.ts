// Issue 10 item 5: a pack cannot grant itself network access. What its hooks reach is what the operator
// approves in hooks.packs[i].allow_hosts; the manifest may narrow that, never widen it; entries carry
// ports; link-local addresses are reached only when listed as such. Hostile pack hooks in both isolations,
// with a canary hook beside them whose decisions must not change; a real HTTP server on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hostAllowed, isLinkLocal, linkLocalGuardedLookup } from '../../sandbox/allow-hosts.js';
import { startServer } from '../sandbox/kit.js';
import { removeDir, sampleCall, startHost, statusOf, tempDir, writeHook } from './helpers.js';

const ISOLATIONS = ['inline', 'process'] as const;

/** A post_registration pack hook that tries every URL and reports what got through as its log. */
function prober(urls: string[]): string {
  return `import { defineHook, http, log } from 'callhook';
export default defineHook('post_registration', async () => {
  for (const url of ${JSON.stringify(urls)}) {
    try { const r = await http.get(url, { timeoutMs: 500 }); log.info('reached', { url, status: r.status }); }
    catch (e) { log.info('refused', { url, code: String((e as { code?: string }).code) }); }
  }
  return null;
});
`;
}

const CANARY = "import { defineHook } from 'callhook';\nexport default defineHook('need_registration', ({ call_full }) => call_full.channel.to.original === '201');\n";

for (const isolation of ISOLATIONS) {
  test(`a pack's manifest allow_hosts grants nothing the operator did not approve (${isolation})`, async (t) => {
    const server = await startServer((_req, res) => res.end('ok'));
    const other = await startServer((_req, res) => res.end('ok'));
    t.after(() => server.close());
    t.after(() => other.close());
    const dir = await tempDir(`pack-net-${isolation}`);
    t.after(() => removeDir(dir));
    const pack = path.join(dir, 'grabby');
    const loose = path.join(dir, 'hooks');
    await mkdir(pack);
    await mkdir(loose);
    const port = server.host.split(':')[1];
    const urls = [`${server.url}/a`, `http://localhost:${port}/b`, `${other.url}/c`, 'http://169.254.169.254/latest/meta-data/'];
    await writeFile(path.join(pack, 'callhook.pack.json'), JSON.stringify({
      name: 'grabby', version: '1.0.0', hooks: [{ hook: 'post_registration', file: 'probe.ts' }],
      allow_hosts: [server.host, `localhost:${port}`, other.host, '169.254.169.254:80'],
    }));
    await writeHook(pack, 'probe.ts', prober(urls));
    await writeHook(loose, 'need_registration.ts', CANARY);

    const logs: Array<{ msg: string; data?: { url: string } }> = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as { msg: string; data?: { url: string } }) });
    const reached = (): string[] => [...new Set(logs.filter((l) => l.msg === 'reached').map((l) => l.data?.url ?? ''))];

    // 1. The operator approved nothing: the manifest's list is worth nothing.
    const closed = await startHost(loose, { packs: [{ path: pack }], isolation, watch: false, logger });
    t.after(() => closed.close());
    assert.equal(statusOf(closed, 'grabby@1.0.0/probe.ts').state, 'active');
    await closed.runPoint('post_registration', { call_full: sampleCall }, { callId: 'c1' });
    assert.deepEqual(reached(), []);
    assert.deepEqual([server.hits, other.hits], [[], []], 'nothing was sent anywhere');
    const canary = await closed.runPoint('need_registration', { call_full: sampleCall, call_stage: 'conversation_requested' });
    assert.deepEqual([canary.value, canary.trace.hooks[0]?.outcome], [true, 'ok'], 'the canary decides as always');
    await closed.close();

    // 2. The operator approves one host:port: exactly that, not the same host on another port nor by another name.
    logs.length = 0;
    const approved = await startHost(loose, { packs: [{ path: pack, allowHosts: [server.host] }], isolation, watch: false, logger });
    t.after(() => approved.close());
    await approved.runPoint('post_registration', { call_full: sampleCall }, { callId: 'c2' });
    assert.deepEqual(reached(), [`${server.url}/a`]);
    assert.deepEqual(server.hits, ['GET /a']);
    assert.deepEqual(other.hits, [], 'another port of the same address stays closed');
    const canary2 = await approved.runPoint('need_registration', { call_full: sampleCall, call_stage: 'conversation_requested' });
    assert.deepEqual([canary2.value, canary2.trace.hooks[0]?.outcome], [true, 'ok']);
    assert.ok(logs.some((l) => /asks for .*not approved in hooks\.packs\[0\]\.allow_hosts: refused/.test(l.msg)), 'the refused part of the manifest is reported');
    await approved.close();

    // 3. The manifest narrows: approved for both servers, the pack asks only for one.
    await writeFile(path.join(pack, 'callhook.pack.json'), JSON.stringify({
      name: 'grabby', version: '1.0.0', hooks: [{ hook: 'post_registration', file: 'probe.ts' }], allow_hosts: [other.host],
    }));
    logs.length = 0;
    const narrowed = await startHost(loose, { packs: [{ path: pack, allowHosts: [server.host, other.host] }], isolation, watch: false, logger });
    t.after(() => narrowed.close());
    await narrowed.runPoint('post_registration', { call_full: sampleCall }, { callId: 'c3' });
    assert.deepEqual(reached(), [`${other.url}/c`]);
  });
}

test('allow-list entries carry ports; link-local addresses are reached only when listed as such', async () => {
  const url = (u: string) => new URL(u);
  assert.equal(hostAllowed(url('https://crm.example.com/x'), ['crm.example.com:443']), true);
  assert.equal(hostAllowed(url('https://crm.example.com:8443/x'), ['crm.example.com:443']), false, 'an entry allows its port only');
  assert.equal(hostAllowed(url('http://crm.example.com:8080/x'), ['crm.example.com']), false, 'a bare name is its default port, not every port');
  assert.equal(hostAllowed(url('http://[::1]:8080/'), ['[::1]:8080']), true);
  for (const a of ['169.254.169.254', '169.254.0.1', 'fe80::1', '::ffff:169.254.169.254']) assert.equal(isLinkLocal(a), true, a);
  for (const a of ['127.0.0.1', '10.0.0.1', '::1', 'fd00::1', '170.254.0.1']) assert.equal(isLinkLocal(a), false, a);
  // A listed name that resolves to a link-local address is refused at connect time (the lookup never
  // leaves this machine for an address literal).
  const lookup = (host: string) => new Promise<string>((resolve) => linkLocalGuardedLookup(host, { all: false }, (err, address) => resolve(err ? `refused: ${err.message}` : String(address))));
  assert.match(await lookup('169.254.169.254'), /^refused: '169\.254\.169\.254' resolves to a link-local address/);
  assert.equal(await lookup('127.0.0.1'), '127.0.0.1');
});
