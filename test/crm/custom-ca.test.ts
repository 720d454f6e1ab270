// crm.ca_file: an on-premise CRM signs its HTTPS with its own CA. Against a local HTTPS server whose
// certificate comes from a CA made here with the openssl CLI: refused without the setting (with an error
// that says what to set), trusted with it, for both adapters; a bad file stops start-up naming the setting.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createBitrix24Client } from '../../core/crm/bitrix24/index.js';
import { createKommoClient } from '../../core/crm/kommo/index.js';
import { loadSettings } from '../../core/settings/index.js';
import { bufferLogger } from './kit.js';

let dir = '';
let server: Server;
let origin = '';
let caFile = '';

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'callhook-ca-'));
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=callhook test CA']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf']);
  caFile = path.join(dir, 'ca.pem');
  server = createServer({ key: readFileSync(path.join(dir, 'server.key')), cert: readFileSync(path.join(dir, 'server.pem')) }, (req, res) => {
    if (req.url?.startsWith('/api/v4/')) res.writeHead(200, { 'Content-Type': 'application/hal+json' }).end(JSON.stringify({ _embedded: { users: [{ id: 1, name: 'A' }] } }));
    else res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ result: [{ ID: '1' }], time: {} }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

test('Kommo over HTTPS with its own CA: refused without crm.ca_file (the error says so), trusted with it', async () => {
  const settings = { ...(await loadSettings()).crm.kommo, base_url: origin, long_lived_token: 'token-1234567890' };
  const plain = createKommoClient(settings, { logger: bufferLogger().logger });
  const refused = await plain.call('GET /api/v4/users', {});
  await plain.close();
  assert.equal(refused.kind, 'transient');
  assert.match((refused as { code: string }).code, /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
  assert.match((refused as { description: string }).description, /crm\.ca_file/);
  assert.equal((refused as { maybeDelivered: boolean }).maybeDelivered, false, 'nothing was sent');
  const trusted = createKommoClient(settings, { logger: bufferLogger().logger, caFile });
  const ok = await trusted.call('GET /api/v4/users', {});
  await trusted.close();
  assert.equal(ok.kind, 'ok', JSON.stringify(ok));
});

test('Bitrix24 (on-premise) over HTTPS with its own CA: refused without crm.ca_file, trusted with it', async () => {
  const settings = { ...(await loadSettings()).crm.bitrix24, webhook_url: `${origin}/rest/1/abcdef123456/` };
  const plain = createBitrix24Client(settings, { logger: bufferLogger().logger });
  const refused = await plain.call('user.get', {});
  await plain.close();
  assert.equal(refused.kind, 'transient');
  assert.match((refused as { description: string }).description, /crm\.ca_file/);
  const trusted = createBitrix24Client(settings, { logger: bufferLogger().logger, caFile });
  const ok = await trusted.call('user.get', {});
  await trusted.close();
  assert.equal(ok.kind, 'ok', JSON.stringify(ok));
});

test('a CA file that is missing or holds no certificate stops start-up, naming crm.ca_file', async () => {
  const settings = { ...(await loadSettings()).crm.kommo, base_url: origin, long_lived_token: 'token-1234567890' };
  assert.throws(() => createKommoClient(settings, { logger: bufferLogger().logger, caFile: path.join(dir, 'nope.pem') }), /crm\.ca_file: .*nope\.pem: cannot be read \(ENOENT\)/);
  writeFileSync(path.join(dir, 'garbage.pem'), 'not a certificate');
  assert.throws(() => createKommoClient(settings, { logger: bufferLogger().logger, caFile: path.join(dir, 'garbage.pem') }), /holds no PEM certificate/);
});
