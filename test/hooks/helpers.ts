// Shared helpers for the hook host tests: temp folders, a host on a folder, the sample call.
import { mkdtemp, writeFile, rm, rename, unlink } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../core/log.js';
import type { JsonObject } from '../../hooks/engine.js';
import { createHookHost, type HookHost, type HookHostOptions, type HookStatus } from '../../hooks/host.js';

export const silent = createLogger({ level: 'silent' });

export const sampleCall = JSON.parse(readFileSync(new URL('../fixtures/hooks/call-incoming.json', import.meta.url), 'utf8')) as JsonObject;

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `callhook-${prefix}-`));
}

export async function writeHook(dir: string, name: string, source: string): Promise<void> {
  await writeFile(path.join(dir, name), source);
}

/** Editor-style atomic save: write a temp file, rename it over the target. */
export async function atomicSave(dir: string, name: string, source: string): Promise<void> {
  const tmp = path.join(dir, `.${name}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  await writeFile(tmp, source);
  await rename(tmp, path.join(dir, name));
}

/** vim-style save: move the original to name~, write the new file, delete the backup. */
export async function vimSave(dir: string, name: string, source: string): Promise<void> {
  const target = path.join(dir, name);
  await rename(target, target + '~').catch(() => undefined);
  await writeFile(target, source);
  await unlink(target + '~').catch(() => undefined);
}

export async function startHost(dir: string, extra: Partial<HookHostOptions> = {}): Promise<HookHost> {
  return createHookHost({ folder: dir, debounceMs: 25, logger: silent, isolation: 'inline', drainDeadlineMs: 5000, ...extra });
}

/** Polls the host's status until `predicate` holds (reloads are asynchronous by design). */
export async function waitForStatus(host: HookHost, predicate: (s: HookStatus[]) => boolean, what: string, timeoutMs = 8000): Promise<HookStatus[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await host.whenIdle();
    const s = host.status();
    let ok = false;
    try {
      ok = predicate(s);
    } catch {
      ok = false; // e.g. the hook has no status entry yet
    }
    if (ok) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}\nstatus: ${JSON.stringify(s, null, 1)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function statusOf(host: HookHost, hook: string): HookStatus {
  const s = host.status().find((x) => x.hook === hook);
  if (!s) throw new Error(`no status for ${hook}: ${JSON.stringify(host.status().map((x) => x.hook))}`);
  return s;
}

export function phoneInput(original = '+79001234567'): JsonObject {
  return {
    number: { base: original.replace(/^\+?7/, ''), custom: '', is_local: false, original, variants: [] },
    call_full: sampleCall,
    call_stage: 'conversation_requested',
  };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
