// Shared by the pipeline's end-to-end, fault and kill tests: the real `callhook run` as a child process
// (JSON reports on stdout), a CEL table in the real MariaDB, and waiting for what the local Bitrix24
// received.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type mysql from 'mysql2/promise';
import type { CallReport } from '../../core/pipeline/index.js';
import type { CelRow } from '../../core/cel/row.js';
import { freepbxCelDdl, insertRows, asStoredByFreepbx, DB } from '../fixtures/cel-sources/db.js';

export const CALLHOOK = path.resolve('bin/callhook.js');

export interface ConnectorChild {
  child: ChildProcessWithoutNullStreams;
  reports: CallReport[];
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (default) to the connector as a service manager's stop does; SIGKILL kills its whole process group. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL to the connector and everything it started (no chance to clean up). */
  kill(): void;
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** `settingsFile`: one file, or several (one PBX/CRM pair each, in one process). */
export function startConnector(settingsFile: string | readonly string[], env: Record<string, string> = {}): ConnectorChild {
  const files = typeof settingsFile === 'string' ? [settingsFile] : settingsFile;
  // Its own process group: a SIGKILL must reach the connector itself (bin/callhook.js re-executes node
  // and cannot forward a KILL) and the sandbox process, as a service manager's kill does.
  const child = spawn(process.execPath, [CALLHOOK, 'run', '--json', ...files.flatMap((f) => ['--settings', f])], {
    env: { ...process.env, CALLHOOK_LOG_LEVEL: 'warn', ...env },
    detached: true,
  });
  const reports: CallReport[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 2_000_000) stderr = stderr.slice(-1_000_000);
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.trim() !== '') reports.push(JSON.parse(line) as CallReport);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    reports,
    stderr: () => stderr,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        if (signal === 'SIGKILL' && child.pid !== undefined) killGroup(child.pid);
        else child.kill(signal);
      }
      return exited;
    },
    kill() {
      if (child.pid !== undefined) killGroup(child.pid);
    },
  };
}

/** Polls `check` until it returns true; the message names what was awaited. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail() ? `: ${detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function createCelTable(conn: mysql.Connection, database: string, rows: readonly CelRow[]): Promise<void> {
  await conn.query(`CREATE DATABASE \`${database}\``);
  await conn.query(freepbxCelDdl(database));
  await insertRows(conn, database, 'cel', rows.map(asStoredByFreepbx));
}

/** Settings for a live run against a MariaDB CEL table and a Bitrix24 webhook, polling fast. */
export function liveSettings(o: {
  file: string;
  celDatabase: string;
  stateDatabase: string;
  webhookUrl: string;
  hooksFolder?: string;
  recordingsRoot?: string;
  calls?: object;
  bitrix24?: object;
  delivery?: object;
  sandbox?: object;
  /** CEL poll interval bounds (default 20..200 ms). */
  poll?: { minMs: number; maxMs: number };
  /** MariaDB account (default root, no password). */
  db?: { user: string; password: string };
  leadership?: object;
}): string {
  const settings = {
    cel: {
      source: 'mariadb',
      mariadb: { ...DB, ...(o.db ?? {}), database: o.celDatabase, table: 'cel', state_database: o.stateDatabase, poll_interval_min_ms: o.poll?.minMs ?? 20, poll_interval_max_ms: o.poll?.maxMs ?? 200, gap_wait_ms: 0 },
    },
    calls: o.calls ?? {},
    crm: {
      type: 'bitrix24',
      bitrix24: { webhook_url: o.webhookUrl, ...(o.bitrix24 ?? {}) },
      delivery: { retry_min_ms: 50, retry_max_ms: 1000, ...(o.delivery ?? {}) },
    },
    hooks: { ...(o.hooksFolder !== undefined ? { folder: o.hooksFolder } : {}), watch: false, ...(o.recordingsRoot !== undefined ? { recordings_root: o.recordingsRoot } : {}) },
    ...(o.sandbox !== undefined ? { sandbox: o.sandbox } : {}),
    ...(o.leadership !== undefined ? { leadership: o.leadership } : {}),
  };
  writeFileSync(o.file, JSON.stringify(settings, null, 2));
  return o.file;
}

/**
 * The kill tests' loop: starts the connector, waits until `working()` (made fresh after each start) says
 * it is delivering, SIGKILLs it after a random pause (a fixed seed: the same moments every run), and again,
 * until `done()` or `kills` kills. Returns how many kills there were. An exit on its own fails the test.
 */
export async function killAtRandomMoments(o: {
  settingsFile: string;
  kills: number;
  seed: number;
  done(): boolean;
  working(): () => boolean;
  pause: { minMs: number; spreadMs: number };
}): Promise<number> {
  let seed = o.seed;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  let kills = 0;
  while (!o.done() && kills < o.kills) {
    const run = startConnector(o.settingsFile);
    const working = o.working();
    await waitUntil('the connector to deliver something', () => working() || o.done() || run.child.exitCode !== null, 120_000, run.stderr);
    if (run.child.exitCode !== null) throw new Error(`callhook run exited by itself (${run.child.exitCode}): ${run.stderr().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, o.pause.minMs + random() * o.pause.spreadMs));
    run.kill();
    await run.exited;
    kills++;
  }
  return kills;
}
