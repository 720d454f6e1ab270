// Messages between the supervisor (connector process) and a sandbox child process, and their framing.
//
// Two plain pipes, not Node's IPC channel: requests go down fd 3, answers come up fd 4. A frame is
// [u32 header bytes][u32 body bytes][header JSON][body], where the body is the one big string of the
// message, already JSON: a hook's input going down, its result coming up. The connector stringifies an
// input once and the child hands that string to the isolate as is; the child sends the isolate's result
// string back as is. No structured clone, no second JSON.stringify in the child, no IPC serialisation
// walk (which overflowed the child's stack on a deeply nested result). The child writes with blocking
// writes: the answers of a batch together, a "pending" notice or "last words" at once, so they are in the
// pipe before anything can kill the child; the supervisor reads every byte before it decides who crashed
// it (with the progress file, sandbox-process.ts).
import type { CompiledHook } from './compile.js';
import type { HookErrorInit } from './errors.js';
import type { HookHttpPolicy } from './http.js';
import type { HookLogEntry, JsonValue, SandboxLimits } from './types.js';

export type ErrorJson = Omit<HookErrorInit, 'frames'> & { stack?: string };

export type ToChild =
  | { op: 'load'; rid: number; hid: number; compiled: CompiledHook; limits: SandboxLimits; hookSettings: JsonValue; http: HookHttpPolicy }
  /**
   * body: the input as JSON text. gate: remember whether this call answers `false`; unlessFalse: run only if
   * none of those earlier calls (rids) answered false - answered 'skipped' when one did, 'deferred' (not run,
   * the supervisor decides) when one of them has not answered here yet (runPoints, sandbox/batch.ts).
   */
  | { op: 'invoke'; rid: number; hid: number; hook: string; callId?: string; wallMs?: number; gate?: true; unlessFalse?: number[] }
  | { op: 'dispose'; hid: number };

export type FromChild =
  | { op: 'loaded'; rid: number; declaredHook: string | null }
  | { op: 'loadError'; rid: number; error: ErrorJson }
  /** The synchronous part of an async call is over; the call now waits for http or its own promise. */
  | { op: 'pending'; rid: number }
  /** A gated call was not run: one of its gates answered false / has not answered here yet. */
  | { op: 'skipped'; rid: number }
  | { op: 'deferred'; rid: number }
  /** body: the result as JSON text (ok) or empty. */
  | { op: 'outcome'; rid: number; ok: true; durationMs: number; logs?: HookLogEntry[]; droppedLogs?: number }
  | { op: 'outcome'; rid: number; ok: false; error: ErrorJson; durationMs: number; logs?: HookLogEntry[]; droppedLogs?: number; countsAsFailure: boolean }
  /** The hook's isolate kept running after its deadline and could not be stopped: this process must go. */
  | { op: 'runaway'; hid: number }
  /** V8 lost control of this hook's isolate; the child aborts right after writing this. */
  | { op: 'lastWords'; hid: number; reason: string };

const HEAD = 8;

export function encodeFrame(header: object, body = ''): Buffer {
  const h = JSON.stringify(header);
  const hb = Buffer.byteLength(h);
  const bb = body === '' ? 0 : Buffer.byteLength(body);
  const buf = Buffer.allocUnsafe(HEAD + hb + bb);
  buf.writeUInt32LE(hb, 0);
  buf.writeUInt32LE(bb, 4);
  buf.write(h, HEAD, hb, 'utf8');
  if (bb > 0) buf.write(body, HEAD + hb, bb, 'utf8');
  return buf;
}

/** Reassembles frames from a byte stream (chunks may split or join frames anywhere). */
export class FrameReader {
  #buf: Buffer | null = null;
  readonly #onFrame: (header: unknown, body: string) => void;

  constructor(onFrame: (header: unknown, body: string) => void) {
    this.#onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    const buf = this.#buf === null ? chunk : Buffer.concat([this.#buf, chunk]);
    let at = 0;
    while (buf.length - at >= HEAD) {
      const hb = buf.readUInt32LE(at);
      const bb = buf.readUInt32LE(at + 4);
      const end = at + HEAD + hb + bb;
      if (buf.length < end) break;
      const header: unknown = JSON.parse(buf.toString('utf8', at + HEAD, at + HEAD + hb));
      const body = bb === 0 ? '' : buf.toString('utf8', at + HEAD + hb, end);
      at = end;
      this.#onFrame(header, body);
    }
    this.#buf = at === buf.length ? null : buf.subarray(at);
  }
}
