// The recording step of both stage programs, after the call's other actions: the path process_record_file_path
// chooses, confined to the recordings root; the file waited for until it is finished (size and mtime stable:
// the PBX may still be flushing it when the call ends); MP3 for the CRMs that need it. A missing, empty or
// unreadable file is looked at again every recordings.retry_ms (the call waits in the store: other calls go
// on) until recordings.wait_seconds after the first look, then the call is delivered without it and the
// outbox entry says why. Nothing here loses or blocks the call for longer than that.
import path from 'node:path';
import type { CallFull, CallNumber } from '../../types/call_full.js';
import type { JsonValue } from '../crm/types.js';
import { confine, readiness, type Recordings } from '../recordings/index.js';
import type { CallMemory } from './memory.js';
import { Blocked, type StepContext } from './steps.js';

export interface RecordingInput {
  ctx: StepContext;
  snapshot: CallFull;
  memory: CallMemory;
  recordings: Recordings;
}

export interface ReadyRecording {
  /** The file to send or link (the MP3 when one was made). */
  file: string;
  /** The original file. */
  source: string;
}

export async function readyRecording(
  input: RecordingInput, view: () => CallFull, crm: 'bitrix24' | 'kommo', key: string, method: string, now: () => number = Date.now,
): Promise<ReadyRecording | null> {
  const { ctx, snapshot, memory, recordings } = input;
  if (snapshot.record === '') return null;
  const root = recordings.root;
  const defaultPath = path.resolve(root, snapshot.record);
  const chosen = await ctx.hook('process_record_file_path', { call_full: view(), default_path: defaultPath, path: defaultPath, recordings_root: root });
  const file = typeof chosen.value === 'string' ? path.resolve(root, chosen.value) : defaultPath;
  const named: JsonValue = { FILENAME: path.basename(file) };
  const confined = await confine(root, file);
  if (!confined.ok) {
    await ctx.skipped(key, method, named, `recording refused: ${confined.reason}`);
    return null;
  }
  const s = recordings.settings;
  const state = await readiness(confined.path, s.stable_ms);
  if (state.state !== 'ready') {
    memory.recordingSince ??= now();
    const deadline = memory.recordingSince + s.wait_seconds * 1000;
    if (now() < deadline) throw new Blocked(now() + s.retry_ms, `waiting for the recording: ${state.detail} (recordings.wait_seconds ${s.wait_seconds})`);
    await ctx.skipped(key, method, named, `recording not delivered: ${state.detail}, still after ${s.wait_seconds} s (recordings.wait_seconds); the call was delivered without it`);
    return null;
  }
  const converted = await recordings.forCrm(confined.path, crm);
  if (!converted.ok) {
    ctx.note(`MP3 conversion failed, the original file is used: ${converted.error}${converted.stderr !== '' ? `; encoder stderr: ${converted.stderr.slice(-500)}` : ''}`);
    return { file: confined.path, source: confined.path };
  }
  if (converted.file !== confined.path) ctx.note(`recording converted to MP3${converted.reused ? ' (already converted earlier)' : ''}: ${path.basename(converted.file)}`);
  return { file: converted.file, source: confined.path };
}

export type { CallNumber };
