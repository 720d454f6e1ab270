// A SIGKILL to the `callhook` process a supervisor sees (the wrapper that re-executes node) cannot be
// forwarded; the connector behind it must not run on orphaned, or the supervisor's next start would make
// two connectors work the same store and CRM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connectRoot, DB, freepbxCelDdl, uniqueName } from '../fixtures/cel-sources/db.js';

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((l) => Number(l.trim())).filter((n) => n > 0);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('SIGKILL to the callhook wrapper stops the connector behind it too', { timeout: 60_000 }, async (t) => {
  const root = await connectRoot();
  if ('skip' in root) return t.skip(root.skip);
  const db = uniqueName('wrapkill');
  const state = uniqueName('wrapkill_state');
  const dir = mkdtempSync(path.join(tmpdir(), 'callhook-wrapkill-'));
  try {
    await root.conn.query(`CREATE DATABASE \`${db}\``);
    await root.conn.query(freepbxCelDdl(db));
    writeFileSync(path.join(dir, 's.json'), JSON.stringify({ cel: { source: 'mariadb', mariadb: { ...DB, database: db, state_database: state } }, crm: { type: 'none' } }));
    // A live source never ends by itself.
    const wrapper = spawn(process.execPath, [path.resolve('bin/callhook.js'), 'run', '--settings', path.join(dir, 's.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    wrapper.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 30_000;
    while (!out.includes('hooks') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const [connector] = childrenOf(wrapper.pid as number);
    assert.ok(connector !== undefined && alive(connector), 'the connector runs as the wrapper\'s child');
    wrapper.kill('SIGKILL');
    const gone = Date.now() + 15_000;
    while (alive(connector) && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
    const survived = alive(connector);
    if (survived) process.kill(connector, 'SIGKILL');
    assert.equal(survived, false, 'the connector stopped with its wrapper');
  } finally {
    await root.conn.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await root.conn.query(`DROP DATABASE IF EXISTS \`${state}\``);
    await root.conn.end();
    rmSync(dir, { recursive: true, force: true });
  }
});
