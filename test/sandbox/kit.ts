// Test helpers for the sandbox: write hook sources into a unique temp folder, compile and load them with
// real isolates, and a real HTTP server on 127.0.0.1 for the http host API.
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { compileHook, loadHook, type CompiledHook, type HookHttpPolicy, type LoadOptions, type LoadedHook, type SandboxLimits } from '../../sandbox/index.js';

export const LIMITS: SandboxLimits = { memoryMb: 32, cpuMsPerCall: 50, wallMsPerCall: 1000 };

/** A pino logger whose lines are kept in memory (to assert what hooks logged). */
export function memoryLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug', base: undefined }, stream), lines };
}

export async function hookDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'callhook-sandbox-'));
}

/** Writes files (relative path → source) under a new temp root; returns the root. */
export async function writeHooks(files: Record<string, string>, root?: string): Promise<string> {
  const dir = root ?? (await hookDir());
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  }
  return dir;
}

export async function compileSource(source: string, name = 'hook.ts', extra: Record<string, string> = {}): Promise<CompiledHook> {
  const root = await writeHooks({ [name]: source, ...extra });
  return compileHook({ file: path.join(root, name), root, displayName: name });
}

export interface LoadExtras {
  limits?: Partial<SandboxLimits>;
  http?: Partial<HookHttpPolicy>;
  hookSettings?: LoadOptions['hookSettings'];
  breaker?: LoadOptions['breaker'];
  logger?: Logger;
}

export function loadOptions(extra: LoadExtras = {}): LoadOptions {
  return {
    limits: { ...LIMITS, ...extra.limits },
    hookSettings: extra.hookSettings ?? {},
    http: { allowHosts: [], timeoutMs: 1000, maxResponseBytes: 64 * 1024, ...extra.http },
    logger: extra.logger ?? memoryLogger().logger,
    ...(extra.breaker ? { breaker: extra.breaker } : {}),
  };
}

export async function loadSource(source: string, extra: LoadExtras = {}, name = 'hook.ts'): Promise<LoadedHook> {
  return loadHook(await compileSource(source, name), loadOptions(extra));
}

export interface TestServer {
  host: string; // 127.0.0.1:port
  url: string;
  hits: string[];
  /** The node server (e.g. to count the connections open at once). */
  server: http.Server;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 (port 0). */
export async function startServer(handler: http.RequestListener): Promise<TestServer> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}`, hits, server,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
