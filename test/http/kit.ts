// The admin API's tests run against calls the real connector recorded: `callhook run` replays the bundled
// CEL sample into a SQLite store file (demo CRM, a copy of the example hooks), then the test opens that
// store and a hook host over the same folder and starts the admin server on 127.0.0.1, port 0.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { createHookHost, hostOptionsFromSettings, type HookHost } from '../../hooks/index.js';
import { hashPassword } from '../../core/http/auth.js';
import { startAdminServer, type AdminJobs, type AdminServer, type ExtraPlugin } from '../../core/http/server.js';
import { loadSettings, type Settings } from '../../core/settings/index.js';
import { createConnectorStore, openSqliteDriver, pbxKey, type ConnectorStore } from '../../core/store/index.js';

export const CALLHOOK = path.resolve('bin/callhook.js');
export const PASSWORD = 'correct horse battery staple';
export const TOKEN = 'tok-0123456789abcdef0123456789abcdef';

export interface Recorded {
  dir: string;
  hooksDir: string;
  settingsFile: string;
  settings: Settings;
  storeFile: string;
  cleanup(): void;
}

/** The demo's 11 calls processed by the real connector into a store file that outlives the run. */
export async function recordDemoCalls(extra: object = {}): Promise<Recorded> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'callhook-admin-'));
  const hooksDir = path.join(dir, 'hooks');
  cpSync(path.resolve('examples/hooks'), hooksDir, { recursive: true });
  const storeFile = path.join(dir, 'store.sqlite');
  const settingsFile = path.join(dir, 'settings.json');
  writeFileSync(settingsFile, JSON.stringify({
    cel: { source: 'replay', replay: { path: path.resolve('examples/cel/demo.jsonl') } },
    hooks: { folder: hooksDir, watch: false },
    store: { sqlite: { path: storeFile } },
    ...extra,
  }));
  await promisify(execFile)(process.execPath, [CALLHOOK, 'run', '--json', '--settings', settingsFile], { env: { ...process.env, CALLHOOK_LOG_LEVEL: 'error' }, maxBuffer: 64 * 1024 * 1024 });
  const settings = await loadSettings({ file: settingsFile });
  return { dir, hooksDir, settingsFile, settings, storeFile, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TestServer {
  server: AdminServer;
  store: ConnectorStore;
  host: HookHost;
  pbx: string;
  url: string;
  close(): Promise<void>;
}

export async function startTestServer(rec: Recorded, o: { http?: Partial<Settings['http']>; jobs?: (store: ConnectorStore, host: HookHost, pbx: string) => AdminJobs; plugins?: ExtraPlugin[] } = {}): Promise<TestServer> {
  const store = await createConnectorStore(openSqliteDriver(rec.storeFile));
  const host = await createHookHost(hostOptionsFromSettings({ ...rec.settings.hooks, watch: false }, rec.settings.sandbox, { watch: false }));
  await host.whenIdle();
  const pbx = pbxKey(rec.settings);
  const http: Settings['http'] = {
    ...rec.settings.http, port: 0, bind: '127.0.0.1', users: [{ name: 'ops', password_hash: await hashPassword(PASSWORD) }], tokens: [TOKEN], ...o.http,
  };
  const server = await startAdminServer({
    settings: { ...rec.settings, http }, store, pbx, host, logger: pino({ level: 'silent' }), version: 'test',
    ...(o.jobs ? { jobs: o.jobs(store, host, pbx) } : {}), ...(o.plugins ? { plugins: o.plugins } : {}),
  });
  return {
    server, store, host, pbx, url: server.url,
    async close() {
      await server.close();
      await host.close();
      await store.close();
    },
  };
}

/** Signs in; returns the cookie header and the session's CSRF token. */
export async function signIn(url: string, name = 'ops', password = PASSWORD): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
  if (res.status !== 200) throw new Error(`sign-in: ${res.status} ${await res.text()}`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const body = (await res.json()) as { csrf: string };
  return { cookie: setCookie.split(';')[0] ?? '', csrf: body.csrf };
}
