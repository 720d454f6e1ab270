// `callhook doctor [--settings file.json]`: checks a deployment and prints one line per check,
// OK / WARN / FAIL with what to fix. Exit 1 when any check FAILs. Nothing is written anywhere: the CEL
// table and the CRM are only read (the CRM checks are read-only methods).
import { accessSync, constants, statSync } from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import pino from 'pino';
import { createBitrix24Client } from '../crm/bitrix24/client.js';
import type { CrmOutcome, JsonParams } from '../crm/types.js';
import { SettingsError, type Settings } from '../settings/index.js';
import { LEASE_TABLE, pbxKey, storeConnection } from '../store/index.js';
import { commands } from './commands.js';
import { loadHookSettings } from './hook-settings.js';

export type Verdict = 'OK' | 'WARN' | 'FAIL' | 'SKIP';

export interface Check {
  name: string;
  verdict: Verdict;
  /** What was found, and for WARN/FAIL what to do about it. */
  detail: string;
}

/** CEL events the call assembler builds calls from (docs/pipeline.md): without them calls are incomplete. */
export const NEEDED_EVENTS = ['CHAN_START', 'CHAN_END', 'ANSWER', 'HANGUP', 'BRIDGE_ENTER', 'BRIDGE_EXIT', 'LINKEDID_END'] as const;
/** Used when they happen (transfers, parking, pickups); their absence over many calls is worth a note. */
export const USEFUL_EVENTS = ['APP_START', 'BLINDTRANSFER', 'ATTENDEDTRANSFER', 'PICKUP', 'PARK_START', 'PARK_END', 'LOCAL_OPTIMIZE'] as const;

/** How many recent CEL rows the event check looks at. */
const RECENT_ROWS = 20_000;
const SKEW_WARN_MS = 2_000;
const DEFAULT_RECORDINGS_ROOT = '/var/spool/asterisk/monitor';
const SKEW_FAIL_MS = 60_000;

const WRITE_PRIVILEGES = ['ALL PRIVILEGES', 'INSERT', 'UPDATE', 'DELETE', 'DROP', 'ALTER'];

/**
 * Whether SHOW GRANTS lines give write access to `db`.`table`: a grant ON *.*, ON `db`.* or ON
 * `db`.`table` with one of the write privileges.
 */
export function grantsWrite(grants: readonly string[], db: string, table: string): string | null {
  const unq = (s: string): string => s.replace(/`/g, '');
  for (const g of grants) {
    const m = /^GRANT (.+?) ON (\S+) TO /i.exec(g);
    if (m === null) continue;
    const privileges = m[1]!.toUpperCase().split(',').map((p) => p.trim());
    const [gdb, gtable] = unq(m[2]!).split('.');
    const covers = (gdb === '*' || gdb === db) && (gtable === '*' || gtable === table);
    if (covers && privileges.some((p) => WRITE_PRIVILEGES.includes(p))) return g;
  }
  return null;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function readable(path: string, kind: 'folder' | 'file'): string | null {
  try {
    const st = statSync(path);
    if (kind === 'folder' && !st.isDirectory()) return `${path} is not a folder`;
    accessSync(path, constants.R_OK | (kind === 'folder' ? constants.X_OK : 0));
    return null;
  } catch (error) {
    return errorText(error);
  }
}

async function celChecks(settings: Settings, out: Check[]): Promise<void> {
  const m = settings.cel.mariadb;
  const where = `${m.host}:${m.port} as ${m.user}`;
  let conn: mysql.Connection;
  try {
    conn = await mysql.createConnection({ host: m.host, port: m.port, user: m.user, password: m.password, connectTimeout: 5000, dateStrings: true });
    conn.on('error', () => undefined);
  } catch (error) {
    out.push({ name: 'PBX database reachable', verdict: 'FAIL', detail: `${where}: ${errorText(error)}; check cel.mariadb host, port, user, password and that the server accepts this host` });
    return;
  }
  try {
    out.push({ name: 'PBX database reachable', verdict: 'OK', detail: where });
    const table = `${mysql.escapeId(m.database)}.${mysql.escapeId(m.table)}`;
    let columns: string[] = [];
    try {
      const [cols] = await conn.query(`SHOW COLUMNS FROM ${table}`);
      columns = (cols as Array<{ Field: string }>).map((c) => c.Field.toLowerCase());
      await conn.query(`SELECT * FROM ${table} ORDER BY id DESC LIMIT 1`);
      out.push({ name: 'cel table readable', verdict: 'OK', detail: `${m.database}.${m.table}` });
    } catch (error) {
      out.push({ name: 'cel table readable', verdict: 'FAIL', detail: `${m.database}.${m.table}: ${errorText(error)}; GRANT SELECT ON ${m.database}.${m.table} TO the connector's account, or fix cel.mariadb.database/table` });
      return;
    }
    try {
      const [rows] = await conn.query('SHOW GRANTS');
      const grants = (rows as Array<Record<string, string>>).map((r) => Object.values(r)[0] ?? '');
      const writing = grantsWrite(grants, m.database, m.table);
      out.push(writing === null
        ? { name: 'cel table read-only for us', verdict: 'OK', detail: 'no write privilege on it' }
        : { name: 'cel table read-only for us', verdict: 'WARN', detail: `the account can write it (${writing}); the connector only reads CEL: give it an account with SELECT on ${m.database}.${m.table} only` });
    } catch (error) {
      out.push({ name: 'cel table read-only for us', verdict: 'WARN', detail: `SHOW GRANTS failed: ${errorText(error)}` });
    }
    out.push(columns.includes('extra')
      ? { name: 'extra column present', verdict: 'OK', detail: 'transfers, pickups and hangup causes can be read' }
      : { name: 'extra column present', verdict: 'FAIL', detail: `${m.table} has no \`extra\` column (columns: ${columns.join(', ')}); the assembler needs it: use cel_odbc/cel_pgsql's table layout with extra` });
    try {
      const [rows] = await conn.query(`SELECT UPPER(eventtype) AS e, COUNT(*) AS n FROM (SELECT eventtype FROM ${table} ORDER BY id DESC LIMIT ${RECENT_ROWS}) r GROUP BY UPPER(eventtype)`);
      const seen = new Set((rows as Array<{ e: string }>).map((r) => r.e));
      if (seen.size === 0) {
        out.push({ name: 'CEL events enabled', verdict: 'WARN', detail: 'the table is empty: make a test call, then run doctor again (cel.conf: enable=yes, events=all)' });
      } else {
        const missing = NEEDED_EVENTS.filter((e) => !seen.has(e));
        const rare = USEFUL_EVENTS.filter((e) => !seen.has(e));
        out.push(missing.length === 0
          ? { name: 'CEL events enabled', verdict: 'OK', detail: `the assembler's events seen in the last ${RECENT_ROWS} rows${rare.length > 0 ? ` (not seen yet: ${rare.join(', ')} — fine if no such call happened; APP_START needs cel.conf apps=)` : ''}` }
          : { name: 'CEL events enabled', verdict: 'FAIL', detail: `not seen in the last ${RECENT_ROWS} rows: ${missing.join(', ')}; set events=all in cel.conf (or add them) and reload the cel module` });
      }
    } catch (error) {
      out.push({ name: 'CEL events enabled', verdict: 'WARN', detail: errorText(error) });
    }
    try {
      const [rows] = await conn.query('SELECT CAST(ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED) AS ms, @@time_zone AS tz, @@system_time_zone AS sys');
      const r = (rows as Array<{ ms: number | string; tz: string; sys: string }>)[0]!;
      const skew = Number(r.ms) - Date.now();
      const text = `PBX database clock ${skew >= 0 ? '+' : ''}${skew} ms from ours (its time zone ${r.tz}/${r.sys})`;
      const abs = Math.abs(skew);
      out.push({
        name: 'clock skew', verdict: abs > SKEW_FAIL_MS ? 'FAIL' : abs > SKEW_WARN_MS ? 'WARN' : 'OK',
        detail: abs > SKEW_WARN_MS ? `${text}; run NTP (chrony/systemd-timesyncd) on both hosts: the safety timeout and call times compare the clocks` : text,
      });
    } catch (error) {
      out.push({ name: 'clock skew', verdict: 'WARN', detail: errorText(error) });
    }
  } finally {
    await conn.end().catch(() => undefined);
  }
}

/** Who leads this PBX now, as the lease row says (docs/failover.md). */
async function leaseCheck(conn: mysql.Connection, database: string, pbx: string): Promise<Check> {
  try {
    const [rows] = await conn.query(
      `SELECT holder, token, expires_at - CAST(ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED) AS left_ms FROM ${mysql.escapeId(database)}.${LEASE_TABLE} WHERE pbx = ?`, [pbx]);
    const r = (rows as Array<{ holder: string; token: number | string; left_ms: number | string }>)[0];
    if (r === undefined || r.holder === '') return { name: 'leadership', verdict: 'OK', detail: `no instance leads ${pbx} yet (the first to start takes the lease)` };
    const left = Number(r.left_ms);
    return left > 0
      ? { name: 'leadership', verdict: 'OK', detail: `${r.holder} leads ${pbx} (fencing token ${r.token}, lease valid ${left} ms more)` }
      : { name: 'leadership', verdict: 'WARN', detail: `the lease of ${pbx} (last held by ${r.holder}) ran out ${-left} ms ago: no instance is running for this PBX, or none reaches the store` };
  } catch (error) {
    if ((error as { code?: string }).code === 'ER_NO_SUCH_TABLE' || (error as { code?: string }).code === 'ER_BAD_DB_ERROR') {
      return { name: 'leadership', verdict: 'OK', detail: 'no connector has run against this store yet' };
    }
    return { name: 'leadership', verdict: 'WARN', detail: errorText(error) };
  }
}

async function storeChecks(settings: Settings, out: Check[]): Promise<void> {
  const s = storeConnection(settings);
  if (s === null) {
    const file = settings.store.sqlite.path;
    out.push({ name: 'connector store', verdict: file === '' ? 'WARN' : 'OK', detail: file === '' ? 'store.sqlite.path is empty: a temporary database per run (the demo); set it (or use MariaDB) so nothing is lost on restart; one instance only (no failover)' : `sqlite ${file} (one instance: leadership always held)` });
    return;
  }
  try {
    const conn = await mysql.createConnection({ host: s.host, port: s.port, user: s.user, password: s.password, connectTimeout: 5000 });
    conn.on('error', () => undefined);
    try {
      out.push({ name: 'connector store', verdict: 'OK', detail: `mariadb ${s.host}:${s.port}/${s.database} as ${s.user} (instances of this PBX share it and fail over through its lease)` });
      out.push(await leaseCheck(conn, s.database, pbxKey(settings)));
    } finally {
      await conn.end().catch(() => undefined);
    }
  } catch (error) {
    out.push({ name: 'connector store', verdict: 'FAIL', detail: `mariadb ${s.host}:${s.port} as ${s.user}: ${errorText(error)}; check store.mariadb (or cel.mariadb when it is empty)` });
  }
}

/** A raw AMI login (no AMI client here): Login, then ListCommands tells whether Originate is allowed. */
export async function amiCheck(ami: { host: string; port: number; username: string; secret: string }, timeoutMs = 5000): Promise<Check[]> {
  const where = `${ami.host}:${ami.port} as ${ami.username}`;
  return new Promise((resolve) => {
    const socket = net.connect({ host: ami.host, port: ami.port });
    let buffer = '';
    let step: 'banner' | 'login' | 'commands' = 'banner';
    const done = (checks: Check[]): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(checks);
    };
    const timer = setTimeout(() => done([{ name: 'AMI login', verdict: 'FAIL', detail: `${where}: no answer within ${timeoutMs} ms; check ami host/port and manager.conf bindaddr/permit` }]), timeoutMs);
    socket.on('error', (error) => done([{ name: 'AMI login', verdict: 'FAIL', detail: `${where}: ${error.message}; check ami host/port and that manager.conf has enabled=yes` }]));
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      if (step === 'banner' && buffer.includes('\r\n')) {
        buffer = buffer.slice(buffer.indexOf('\r\n') + 2);
        step = 'login';
        socket.write(`Action: Login\r\nActionID: doctor-login\r\nUsername: ${ami.username}\r\nSecret: ${ami.secret}\r\nEvents: off\r\n\r\n`);
      }
      for (let end = buffer.indexOf('\r\n\r\n'); end >= 0; end = buffer.indexOf('\r\n\r\n')) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 4);
        if (step === 'login' && /ActionID: doctor-login/i.test(message)) {
          if (!/^Response: Success/im.test(message)) {
            done([{ name: 'AMI login', verdict: 'FAIL', detail: `${where}: ${/Message: (.*)/i.exec(message)?.[1] ?? 'refused'}; check the user and secret in manager.conf and the ami settings` }]);
            return;
          }
          step = 'commands';
          socket.write('Action: ListCommands\r\nActionID: doctor-commands\r\n\r\n');
        } else if (step === 'commands' && /ActionID: doctor-commands/i.test(message)) {
          const originate = /^Originate:/im.test(message);
          done([
            { name: 'AMI login', verdict: 'OK', detail: where },
            originate
              ? { name: 'AMI originate permission', verdict: 'OK', detail: 'Originate is allowed for this user' }
              : { name: 'AMI originate permission', verdict: 'FAIL', detail: 'Originate is not in ListCommands for this user: add originate to its write= in manager.conf (click-to-call needs it)' },
          ]);
        }
      }
    });
  });
}

async function crmChecks(settings: Settings, out: Check[]): Promise<void> {
  const crm = settings.crm;
  if (crm.type === 'none') {
    out.push({ name: 'CRM auth', verdict: 'SKIP', detail: 'crm.type is none: nothing is sent' });
    return;
  }
  if (crm.type === 'demo') {
    out.push({ name: 'CRM auth', verdict: 'SKIP', detail: 'crm.type is demo: a local Bitrix24 started per run' });
    return;
  }
  const logger = pino({ level: 'silent' });
  const memory = new Map<string, { accessToken: string; refreshToken: string; expiresAt: number }>();
  let client;
  try {
    client = createBitrix24Client(crm.bitrix24, {
      logger,
      tokenStore: { load: async (p) => memory.get(p) ?? null, save: async (p, t) => void memory.set(p, t) },
    });
  } catch (error) {
    out.push({ name: 'CRM auth', verdict: 'FAIL', detail: `${errorText(error)}; fix crm.bitrix24` });
    return;
  }
  const describe = (o: CrmOutcome): string => (o.kind === 'ok' ? 'ok' : `${o.code}${o.description ? ` (${o.description})` : ''}`);
  try {
    const auth = await client.call('user.get', { FILTER: { ID: 1 } });
    if (auth.kind !== 'ok') {
      out.push({ name: 'CRM auth', verdict: 'FAIL', detail: `Bitrix24 user.get: ${describe(auth)}; check crm.bitrix24.webhook_url (or the oauth section) and that the webhook/app exists` });
      return;
    }
    out.push({ name: 'CRM auth', verdict: 'OK', detail: 'Bitrix24 answered an authenticated user.get' });
    // Read-only methods, one per scope the pipeline uses.
    const probes: Array<[string, string, JsonParams]> = [
      ['telephony', 'telephony.externalcall.searchcrmentities', { PHONE_NUMBER: '0' }],
      ['crm', 'crm.duplicate.findbycomm', { TYPE: 'PHONE', VALUES: ['0'] }],
    ];
    const missing: string[] = [];
    for (const [scope, method, params] of probes) {
      const o = await client.call(method, params);
      if (o.kind !== 'ok' && /scope|access/i.test(`${o.code} ${o.description}`)) missing.push(`${scope} (${method}: ${describe(o)})`);
      else if (o.kind !== 'ok' && o.kind !== 'rejected') missing.push(`${scope} (${method}: ${describe(o)})`);
    }
    out.push(missing.length === 0
      ? { name: 'CRM scopes', verdict: 'OK', detail: 'user, telephony and crm methods answer' }
      : { name: 'CRM scopes', verdict: 'FAIL', detail: `not usable: ${missing.join('; ')}; give the webhook/app these scopes in Bitrix24` });
  } finally {
    await client.close();
  }
}

function localChecks(settings: Settings, out: Check[]): void {
  const folder = settings.hooks.folder;
  if (folder === '') out.push({ name: 'hooks folder readable', verdict: 'OK', detail: 'no hooks.folder: the built-in defaults decide at every point' });
  else {
    const problem = readable(folder, 'folder');
    out.push(problem === null ? { name: 'hooks folder readable', verdict: 'OK', detail: folder } : { name: 'hooks folder readable', verdict: 'FAIL', detail: `${problem}; the connector's user must read (r-x) ${folder}` });
  }
  const rec = settings.hooks.recordings_root;
  if (rec === '') out.push({ name: 'recordings root readable', verdict: 'SKIP', detail: 'hooks.recordings_root is not set (recordings are not attached from disk)' });
  else {
    const problem = readable(rec, 'folder');
    // The default path on a host without Asterisk (the demo) is a note; a path someone set must work.
    const verdict: Verdict = rec === DEFAULT_RECORDINGS_ROOT ? 'WARN' : 'FAIL';
    out.push(problem === null ? { name: 'recordings root readable', verdict: 'OK', detail: rec } : { name: 'recordings root readable', verdict, detail: `${problem}; the connector's user must read ${rec} (e.g. add it to the asterisk group), or set hooks.recordings_root` });
  }
  const zone = settings.calls.pbx_time_zone;
  const ours = Intl.DateTimeFormat().resolvedOptions().timeZone;
  out.push(zone !== ''
    ? { name: 'time zone set', verdict: 'OK', detail: `calls.pbx_time_zone ${zone} (this host: ${ours})` }
    : { name: 'time zone set', verdict: 'WARN', detail: `calls.pbx_time_zone is empty: the PBX is assumed to be in this host's zone (${ours}); set it to the Asterisk server's IANA zone` });
}

interface AmiSettings { host: string; port: number; username: string; secret: string }

/** The AMI connection to check: only when click-to-call is on (nothing else uses AMI). */
function amiSettingsOf(settings: Settings): AmiSettings | null {
  if (!settings.click_to_call.enabled) return null;
  const { host, port, username, secret } = settings.ami;
  return { host, port, username, secret };
}

export async function diagnose(settings: Settings): Promise<Check[]> {
  const out: Check[] = [{ name: 'settings valid', verdict: 'OK', detail: 'the settings file matches the schema; what the hooks section names exists' }];
  if (settings.cel.source === 'mariadb') await celChecks(settings, out);
  else {
    const problem = readable(settings.cel.replay.path, 'file');
    out.push(problem === null ? { name: 'CEL source', verdict: 'OK', detail: `replay ${settings.cel.replay.path} (a file: no PBX database checks)` } : { name: 'CEL source', verdict: 'FAIL', detail: `${problem}; fix cel.replay.path` });
  }
  await storeChecks(settings, out);
  const ami = amiSettingsOf(settings);
  if (ami === null) out.push({ name: 'AMI login', verdict: 'SKIP', detail: 'click_to_call.enabled is off: nothing uses AMI' });
  else out.push(...(await amiCheck(ami)));
  await crmChecks(settings, out);
  localChecks(settings, out);
  return out;
}

export function formatCheck(c: Check): string {
  return `${c.verdict.padEnd(4)} ${c.name}: ${c.detail}`;
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { settings: { type: 'string' } } });
  } catch (error) {
    process.stderr.write(`callhook doctor: ${errorText(error)}\nusage: ${commands.doctor?.usage ?? 'callhook doctor'}\n`);
    return 2;
  }
  let settings: Settings;
  try {
    settings = await loadHookSettings(parsed.values.settings);
  } catch (error) {
    if (error instanceof SettingsError) {
      process.stdout.write(`${formatCheck({ name: 'settings valid', verdict: 'FAIL', detail: `fix what follows, then run doctor again` })}\n${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const checks = await diagnose(settings);
  for (const c of checks) process.stdout.write(`${formatCheck(c)}\n`);
  const failed = checks.filter((c) => c.verdict === 'FAIL').length;
  const warned = checks.filter((c) => c.verdict === 'WARN').length;
  process.stdout.write(`${failed} failed, ${warned} warnings, ${checks.length - failed - warned} ok or skipped\n`);
  return failed > 0 ? 1 : 0;
}
