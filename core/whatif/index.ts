// "What if": a candidate version of a hook file runs, in the same sandbox and with the same loading as
// the connector (a hook host over a copy of the hooks folder with the candidate in place of the file of
// that name, the same packs and settings), against the inputs the live hooks saw at its point in the
// recorded calls (every hook step of a stored trace carries its point's input). The answer is, call by
// call, where the point's decision with the candidate differs from what was decided live. No CRM client
// exists here: nothing is sent. What the changed decision would have caused downstream (a call no longer
// registered skips the later points) is not simulated; the differences say which decision changed.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { createHookHost, decisionChanged, hostOptionsFromSettings, type HookHost, type HookStatus } from '../../hooks/index.js';
import type { HookPointName } from '../../hooks/catalogue.js';
import type { HookStep, StageTrace } from '../pipeline/index.js';
import type { Settings } from '../settings/index.js';
import type { ConnectorStore, JsonValue } from '../store/index.js';

export interface WhatIfSelection { ids?: readonly string[]; from?: string; to?: string; limit?: number }

export interface WhatIfDecision { value: JsonValue; cancelled: boolean; hooks: Array<{ hook: string; outcome: string; output?: JsonValue; error?: string }> }

export interface WhatIfDifference {
  linkedid: string;
  stage: string;
  conversationId: string;
  point: string;
  live: WhatIfDecision;
  candidate: WhatIfDecision;
}

export interface WhatIfResult {
  hook: string;
  point: string | null;
  /** The candidate did not load: its error (file:line:col CODE message); nothing was run. */
  loadError: string | null;
  calls: number;
  /** Recorded decisions at the point that were run again. */
  decisions: number;
  /** Calls with at least one differing decision. */
  changedCalls: number;
  differences: WhatIfDifference[];
  durationMs: number;
}

export class WhatIfError extends Error {
  /** A bad request, not a server fault (the admin API answers 400 with the code). */
  readonly statusCode = 400;
  constructor(readonly code: string, message: string) {
    super(`${code}: ${message}`);
  }
}

/** A hook host over a copy of the hooks folder in which `name` holds `source`: the candidate hook set. */
export async function openCandidateHost(settings: Settings, name: string, source: string, logger: Logger): Promise<{ host: HookHost; dir: string; close(): Promise<void> }> {
  if (!/^[A-Za-z0-9_.-]+\.ts$/.test(name) || name.startsWith('.')) throw new WhatIfError('WHATIF_BAD_NAME', `'${name}' is not a hook file name of the hooks folder (e.g. need_registration.blacklist.ts)`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'callhook-whatif-'));
  try {
    const folder = settings.hooks.folder;
    if (folder !== '') await cp(folder, dir, { recursive: true, filter: (src) => !src.split(path.sep).includes('node_modules') });
    await writeFile(path.join(dir, name), source);
    const host = await createHookHost(hostOptionsFromSettings({ ...settings.hooks, folder: dir, watch: false }, settings.sandbox, { logger, watch: false }));
    await host.whenIdle();
    return {
      host, dir,
      async close() {
        await host.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function decisionOf(value: JsonValue, cancelled: boolean, hooks: HookStep['hooks']): WhatIfDecision {
  return {
    value, cancelled,
    hooks: hooks.map((h) => ({ hook: h.hook, outcome: h.outcome, ...(h.output !== undefined ? { output: h.output } : {}), ...(h.error !== undefined ? { error: h.error } : {}) })),
  };
}

function loadErrorOf(status: HookStatus | undefined): string | null {
  if (status === undefined) return 'the candidate was not loaded (is it a hook file? helpers start with _)';
  if (status.state !== 'failed' || status.lastError === null) return null;
  const e = status.lastError;
  return `${e.file}${e.line !== undefined ? `:${e.line}:${e.column ?? 1}` : ''} ${e.code} ${e.message}`;
}

/**
 * Runs the candidate host at `point` on every recorded input of the selected calls and returns the
 * differences. `host` may also be the live host (the benchmark's baseline: the same inputs, the live code).
 */
export async function replayPoint(o: {
  host: HookHost; store: ConnectorStore; pbx: string; point: HookPointName; selection: WhatIfSelection; signal?: AbortSignal; concurrency?: number;
}): Promise<{ calls: number; decisions: number; changedCalls: number; differences: WhatIfDifference[] }> {
  const sel = o.selection;
  const calls = await o.store.listCalls(o.pbx, {
    ...(sel.ids !== undefined && sel.ids.length > 0 ? { linkedids: sel.ids } : {}),
    ...(sel.from !== undefined ? { from: sel.from } : {}), ...(sel.to !== undefined ? { to: sel.to } : {}),
    limit: sel.limit ?? 10_000, brief: true,
  });
  const differences: WhatIfDifference[] = [];
  let decisions = 0;
  let next = 0;
  // Traces are read in slices of 200 calls, ahead of the workers (one query per slice, no snapshots).
  const slices = new Map<number, Promise<Map<string, JsonValue[]>>>();
  const tracesOf = async (index: number, linkedid: string): Promise<JsonValue[]> => {
    const slice = Math.floor(index / 200);
    let p = slices.get(slice);
    if (p === undefined) {
      p = o.store.currentTraces(o.pbx, calls.slice(slice * 200, slice * 200 + 200).map((c) => c.linkedid));
      slices.set(slice, p);
      slices.delete(slice - 2);
    }
    return (await p).get(linkedid) ?? [];
  };
  const worker = async (): Promise<void> => {
    while (next < calls.length && o.signal?.aborted !== true) {
      const index = next++;
      const call = calls[index];
      if (call === undefined) break;
      const traces = await tracesOf(index, call.linkedid);
      const recorded: Array<{ trace: StageTrace; step: HookStep }> = [];
      for (const t of traces) {
        const trace = t as unknown as StageTrace;
        for (const step of trace.steps) if (step.kind === 'hook' && step.point === o.point && step.trace?.input !== undefined) recorded.push({ trace, step });
      }
      if (recorded.length === 0) continue;
      decisions += recorded.length;
      // One batch per call: in process isolation one round trip to the sandbox for all of the call's inputs.
      const results = await o.host.runPoints(
        recorded.map(({ step }) => ({ point: o.point, input: step.trace.input as object, ...(step.trace.stage !== null ? { stage: step.trace.stage } : {}) })),
        { callId: call.linkedid },
      );
      recorded.forEach(({ trace, step }, i) => {
        const result = results[i];
        if (result === null || result === undefined || !decisionChanged(step.trace, result)) return;
        const candidateHooks = result.trace.hooks.map((h) => ({
          hook: h.hook, outcome: h.outcome, durationMs: h.durationMs, source: h.source,
          ...(h.output !== undefined ? { output: h.output } : {}),
          ...(h.error ? { error: `${h.error.hook}${h.error.line !== undefined ? `:${h.error.line}:${h.error.column ?? 1}` : ''} ${h.error.code} ${h.error.message}` } : {}),
        }));
        differences.push({
          linkedid: call.linkedid, stage: trace.stage, conversationId: trace.conversationId, point: step.point,
          live: decisionOf(step.value, step.cancelled, step.hooks),
          candidate: decisionOf(result.value, result.cancelled, candidateHooks),
        });
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 8) }, worker));
  differences.sort((a, b) => (a.linkedid < b.linkedid ? -1 : a.linkedid > b.linkedid ? 1 : 0));
  return { calls: calls.length, decisions, changedCalls: new Set(differences.map((d) => d.linkedid)).size, differences };
}

export async function runWhatIf(o: {
  settings: Settings; store: ConnectorStore; pbx: string; name: string; source: string; selection: WhatIfSelection; logger: Logger; signal?: AbortSignal;
}): Promise<WhatIfResult> {
  const started = performance.now();
  const candidate = await openCandidateHost(o.settings, o.name, o.source, o.logger.child({ whatif: o.name }));
  try {
    const status = candidate.host.status().find((h) => h.hook === o.name);
    const loadError = loadErrorOf(status);
    const point = status?.point ?? null;
    if (loadError !== null || point === null) {
      return { hook: o.name, point, loadError: loadError ?? 'the candidate names no hook point', calls: 0, decisions: 0, changedCalls: 0, differences: [], durationMs: Math.round(performance.now() - started) };
    }
    const r = await replayPoint({ host: candidate.host, store: o.store, pbx: o.pbx, point, selection: o.selection, ...(o.signal ? { signal: o.signal } : {}) });
    return { hook: o.name, point, loadError: null, ...r, durationMs: Math.round(performance.now() - started) };
  } finally {
    await candidate.close();
  }
}

/** POST /whatif: `{source, name}` (a pasted version of hook file `name`) or `{file}` (the file as it is on disk in the hooks folder). */
export async function whatIfFromSettings(
  settings: Settings, runtime: { store: ConnectorStore; pbx: string }, request: { source?: string; name?: string; file?: string } & WhatIfSelection, o: { logger: Logger; signal?: AbortSignal },
): Promise<WhatIfResult> {
  let name: string;
  let source: string;
  if (typeof request.source === 'string') {
    if (typeof request.name !== 'string') throw new WhatIfError('WHATIF_NO_NAME', 'with "source", send "name": the hook file it is a version of (or a new file name, e.g. need_registration.vip.ts)');
    name = request.name;
    source = request.source;
  } else if (typeof request.file === 'string') {
    if (settings.hooks.folder === '') throw new WhatIfError('WHATIF_NO_FOLDER', 'hooks.folder is not set: send the hook as "source"');
    name = path.basename(request.file);
    source = await readFile(path.join(settings.hooks.folder, name), 'utf8').catch(() => {
      throw new WhatIfError('WHATIF_NO_FILE', `no file '${name}' in the hooks folder ${settings.hooks.folder}`);
    });
  } else {
    throw new WhatIfError('WHATIF_NO_HOOK', 'send {"name": "<file>.ts", "source": "..."} or {"file": "<file in the hooks folder>"}, and the calls: {"ids": [...]} or {"from", "to"}');
  }
  const selection: WhatIfSelection = {
    ...(Array.isArray(request.ids) ? { ids: request.ids.filter((i): i is string => typeof i === 'string') } : {}),
    ...(typeof request.from === 'string' ? { from: request.from } : {}),
    ...(typeof request.to === 'string' ? { to: request.to } : {}),
    ...(typeof request.limit === 'number' ? { limit: request.limit } : {}),
  };
  return runWhatIf({ settings, ...runtime, name, source, selection, logger: o.logger, ...(o.signal ? { signal: o.signal } : {}) });
}
