// `callhook doctor` as an operator runs it, against the real MariaDB and the local Bitrix24: a good
// deployment (read-only CEL account, recorded CEL rows, folders present, time zone set) passes with exit 0;
// a broken one (a writable account, no `extra` column, CEL events missing, a wrong webhook, a missing
// recordings folder, no time zone) gets one FAIL/WARN line per problem, each saying what to fix, and exit 1.
// The AMI check runs against a small AMI server speaking the manager protocol (login, ListCommands).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { amiCheck, grantsWrite } from '../../core/cli/doctor-command.js';
import { startLocalBitrix24 } from '../../core/demo-crm/bitrix24/index.js';
import { createLeaseTable, openMariaDbDriver, tryLease } from '../../core/store/index.js';
import { asStoredByFreepbx, connectRoot, DB, freepbxCelDdl, insertRows, uniqueName } from '../fixtures/cel-sources/db.js';
import { loadRows, RECORDED } from '../cel/assembler-kit.js';

let root: mysql.Connection | undefined;
let skip: string | undefined;
const databases: string[] = [];
const users: string[] = [];
let dir = '';

before(async () => {
  const r = await connectRoot();
  if ('skip' in r) skip = r.skip;
  else root = r.conn;
  dir = mkdtempSync(path.join(tmpdir(), 'callhook-doctor-'));
});

after(async () => {
  if (root) {
    for (const db of databases) await root.query(`DROP DATABASE IF EXISTS \`${db}\``);
    for (const u of users) for (const h of ['%', 'localhost']) await root.query(`DROP USER IF EXISTS '${u}'@'${h}'`);
    await root.end();
  }
  rmSync(dir, { recursive: true, force: true });
});

function doctor(settingsFile: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/callhook.js', 'doctor', '--settings', settingsFile], { env: { ...process.env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

function line(out: string, name: string): string {
  return out.split('\n').find((l) => l.slice(5).startsWith(`${name}:`)) ?? `(no line for ${name})`;
}

test('doctor: a good deployment passes, every check on its own line', { timeout: 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const conn = root!;
  const cel = uniqueName('prod_doc_cel');
  databases.push(cel, `${cel}_state`);
  await conn.query(`CREATE DATABASE \`${cel}\``);
  await conn.query(freepbxCelDdl(cel));
  await insertRows(conn, cel, 'cel', loadRows(RECORDED).map(asStoredByFreepbx));
  const user = uniqueName('prod_doc').slice(0, 40);
  users.push(user);
  for (const h of ['%', 'localhost']) {
    await conn.query(`CREATE USER '${user}'@'${h}' IDENTIFIED BY 'pw'`);
    await conn.query(`GRANT SELECT ON \`${cel}\`.cel TO '${user}'@'${h}'`);
  }
  const hooks = path.join(dir, 'good-hooks');
  const recordings = path.join(dir, 'recordings');
  mkdirSync(hooks);
  mkdirSync(recordings);
  const crm = await startLocalBitrix24();
  try {
    const file = path.join(dir, 'good.json');
    writeFileSync(file, JSON.stringify({
      cel: { source: 'mariadb', mariadb: { ...DB, user, password: 'pw', database: cel, table: 'cel', state_database: `${cel}_state` } },
      store: { kind: 'mariadb', mariadb: { host: DB.host, port: DB.port, user: DB.user, password: DB.password, database: `${cel}_state` } },
      calls: { pbx_time_zone: 'Europe/Moscow' },
      crm: { type: 'bitrix24', bitrix24: { webhook_url: crm.webhookUrl } },
      hooks: { folder: hooks, recordings_root: recordings },
    }));
    // An instance leads this PBX (its lease row in the store): doctor names it.
    const lease = await openMariaDbDriver({ ...DB, database: `${cel}_state`, connections: 1 });
    await createLeaseTable(lease);
    await tryLease(lease, `${DB.host}:${DB.port}/${cel}.cel`, 'host-a:4242:beef', null, 60_000);
    await lease.close();
    const { code, out } = await doctor(file);
    console.log(out.replace(/^/gm, '# '));
    assert.equal(code, 0, out);
    assert.match(line(out, 'leadership'), /^OK .*host-a:4242:beef leads .*fencing token 1/);
    for (const name of ['settings valid', 'PBX database reachable', 'cel table readable', 'cel table read-only for us', 'extra column present', 'CEL events enabled', 'clock skew', 'connector store', 'CRM auth', 'CRM scopes', 'hooks folder readable', 'recordings root readable', 'time zone set']) {
      assert.match(line(out, name), /^OK /, `${name}: ${line(out, name)}`);
    }
    assert.match(line(out, 'AMI login'), /^SKIP/);
    assert.doesNotMatch(out, /pw|\/rest\/1\/[0-9a-f]{8}/, 'no password or webhook code printed');
  } finally {
    await crm.close();
  }
});

test('doctor: a broken deployment gets a FAIL or WARN per problem, with what to fix, and exit 1', { timeout: 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const conn = root!;
  const cel = uniqueName('prod_doc_bad');
  databases.push(cel);
  await conn.query(`CREATE DATABASE \`${cel}\``);
  // An old table layout without `extra`, and a CEL config that writes no LINKEDID_END/BRIDGE events.
  await conn.query(`CREATE TABLE \`${cel}\`.cel (id INT AUTO_INCREMENT PRIMARY KEY, eventtype VARCHAR(30), eventtime DATETIME, uniqueid VARCHAR(32), linkedid VARCHAR(32))`);
  await conn.query(`INSERT INTO \`${cel}\`.cel (eventtype, eventtime, uniqueid, linkedid) VALUES ('CHAN_START', NOW(), '1.1', '1.1'), ('ANSWER', NOW(), '1.1', '1.1'), ('HANGUP', NOW(), '1.1', '1.1'), ('CHAN_END', NOW(), '1.1', '1.1')`);
  const crm = await startLocalBitrix24();
  try {
    const file = path.join(dir, 'bad.json');
    const wrongWebhook = crm.webhookUrl.replace(/\/rest\/1\/[^/]+\//, '/rest/1/0000000000/');
    writeFileSync(file, JSON.stringify({
      // root can write the cel table
      cel: { source: 'mariadb', mariadb: { ...DB, database: cel, table: 'cel', state_database: `${cel}_state` } },
      store: { kind: 'sqlite' },
      crm: { type: 'bitrix24', bitrix24: { webhook_url: wrongWebhook } },
      hooks: { recordings_root: path.join(dir, 'no-such-recordings') },
    }));
    const { code, out } = await doctor(file);
    console.log(out.replace(/^/gm, '# '));
    assert.equal(code, 1, out);
    assert.match(line(out, 'cel table read-only for us'), /^WARN .*SELECT on/);
    assert.match(line(out, 'extra column present'), /^FAIL .*no `extra` column/);
    assert.match(line(out, 'CEL events enabled'), /^FAIL .*BRIDGE_ENTER.*LINKEDID_END.*events=all/);
    assert.match(line(out, 'CRM auth'), /^FAIL .*webhook_url/);
    assert.match(line(out, 'recordings root readable'), /^FAIL .*no-such-recordings/);
    assert.match(line(out, 'time zone set'), /^WARN .*pbx_time_zone/);
    assert.match(line(out, 'connector store'), /^WARN .*sqlite\.path is empty/);
  } finally {
    await crm.close();
  }
});

test('doctor: a database that does not answer and a settings file with a typo are FAILs, not crashes', { timeout: 60_000 }, async () => {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const file = path.join(dir, 'down.json');
  writeFileSync(file, JSON.stringify({ cel: { source: 'mariadb', mariadb: { host: '127.0.0.1', port, user: 'x', database: 'd', table: 'cel' } }, crm: { type: 'none' } }));
  const down = await doctor(file);
  assert.equal(down.code, 1, down.out);
  assert.match(line(down.out, 'PBX database reachable'), /^FAIL .*ECONNREFUSED.*cel\.mariadb host/);
  const typo = path.join(dir, 'typo.json');
  writeFileSync(typo, JSON.stringify({ cel: { sorce: 'mariadb' } }));
  const bad = await doctor(typo);
  assert.equal(bad.code, 1, bad.out);
  assert.match(bad.out, /^FAIL settings valid/m);
  assert.match(bad.out, /sorce/);
});

/** A manager-protocol server: banner, Login (one user), ListCommands per the user's write permissions. */
async function startAmi(users: Record<string, { secret: string; originate: boolean }>): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => {
    socket.write('Asterisk Call Manager/9.0.0\r\n');
    let buffer = '';
    let user: string | null = null;
    socket.on('data', (d: Buffer) => {
      buffer += d.toString();
      for (let end = buffer.indexOf('\r\n\r\n'); end >= 0; end = buffer.indexOf('\r\n\r\n')) {
        const headers = new Map(buffer.slice(0, end).split('\r\n').map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        buffer = buffer.slice(end + 4);
        const id = headers.get('actionid') ?? '';
        const action = (headers.get('action') ?? '').toLowerCase();
        if (action === 'login') {
          const u = users[headers.get('username') ?? ''];
          if (u !== undefined && u.secret === headers.get('secret')) {
            user = headers.get('username') ?? null;
            socket.write(`Response: Success\r\nActionID: ${id}\r\nMessage: Authentication accepted\r\n\r\n`);
          } else socket.write(`Response: Error\r\nActionID: ${id}\r\nMessage: Authentication failed\r\n\r\n`);
        } else if (action === 'listcommands') {
          if (user === null) socket.write(`Response: Error\r\nActionID: ${id}\r\nMessage: Permission denied\r\n\r\n`);
          else socket.write(`Response: Success\r\nActionID: ${id}\r\nPing: Keepalive command  (Priv: <none>)\r\n${users[user]!.originate ? 'Originate: Originate a call.  (Priv: originate,all)\r\n' : ''}\r\n`);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

test('doctor AMI check: login and originate permission, a wrong secret, a user without originate', async () => {
  const ami = await startAmi({ callhook: { secret: 's3', originate: true }, reporter: { secret: 'r', originate: false } });
  try {
    const good = await amiCheck({ host: '127.0.0.1', port: ami.port, username: 'callhook', secret: 's3' });
    assert.deepEqual(good.map((c) => c.verdict), ['OK', 'OK']);
    const wrong = await amiCheck({ host: '127.0.0.1', port: ami.port, username: 'callhook', secret: 'nope' });
    assert.equal(wrong[0]?.verdict, 'FAIL');
    assert.match(wrong[0]!.detail, /Authentication failed.*secret/);
    const noOriginate = await amiCheck({ host: '127.0.0.1', port: ami.port, username: 'reporter', secret: 'r' });
    assert.deepEqual(noOriginate.map((c) => c.verdict), ['OK', 'FAIL']);
    assert.match(noOriginate[1]!.detail, /write= in manager\.conf/);
  } finally {
    await ami.close();
  }
});

test('grantsWrite: reads SHOW GRANTS lines', () => {
  assert.equal(grantsWrite(["GRANT SELECT ON `asteriskcdrdb`.`cel` TO `c`@`%`"], 'asteriskcdrdb', 'cel'), null);
  assert.match(grantsWrite(['GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION'], 'asteriskcdrdb', 'cel') ?? '', /ALL/);
  assert.match(grantsWrite(['GRANT SELECT, INSERT ON `asteriskcdrdb`.* TO `c`@`%`'], 'asteriskcdrdb', 'cel') ?? '', /INSERT/);
  assert.equal(grantsWrite(['GRANT INSERT ON `other`.* TO `c`@`%`'], 'asteriskcdrdb', 'cel'), null);
});
