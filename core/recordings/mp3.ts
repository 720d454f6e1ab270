// WAV → MP3 with a real encoder named in settings (recordings.mp3.encoder, e.g. Debian's lame): run
// without a shell ({in} and {out} replaced in its arguments), killed after its time budget, its stderr
// kept for the call's trace when it fails. Outputs are named by the source's path, size and mtime, so a
// retry or a second CRM reuses the file instead of encoding again; a partial output is never served (the
// encoder writes to a temporary name that is renamed when it exits 0).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

export type Mp3Result = { ok: true; file: string; reused: boolean } | { ok: false; error: string; stderr: string };

const STDERR_KEPT = 2000;

export async function toMp3(input: string, folder: string, encoder: readonly string[], timeoutMs: number): Promise<Mp3Result> {
  if (input.toLowerCase().endsWith('.mp3')) return { ok: true, file: input, reused: true };
  const s = await stat(input);
  const key = createHash('sha256').update(`${input}\0${s.size}\0${s.mtimeMs}`).digest('hex').slice(0, 24);
  const out = path.join(folder, `${path.basename(input).replace(/\.[^.]*$/, '')}-${key}.mp3`);
  try {
    await stat(out);
    return { ok: true, file: out, reused: true };
  } catch {
    // not converted yet
  }
  await mkdir(folder, { recursive: true });
  const partial = `${out}.${process.pid}.part`;
  const [command, ...rest] = encoder;
  if (command === undefined) return { ok: false, error: 'recordings.mp3.encoder is empty', stderr: '' };
  const args = rest.map((a) => a.replaceAll('{in}', input).replaceAll('{out}', partial));
  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; spawnError?: string; timedOut: boolean }>((resolve) => {
    let stderr = '';
    let timedOut = false;
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-STDERR_KEPT);
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stderr, spawnError: `${command}: ${(error as NodeJS.ErrnoException).code ?? error.message}`, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, timedOut });
    });
  });
  if (result.spawnError !== undefined || result.code !== 0) {
    await rm(partial, { force: true });
    const error = result.spawnError !== undefined ? `the encoder could not be started (${result.spawnError}): install it (apt-get install lame) or fix recordings.mp3.encoder`
      : result.timedOut ? `the encoder took longer than recordings.mp3.timeout_ms (${timeoutMs} ms) and was killed`
      : `the encoder exited with ${result.code ?? result.signal}`;
    return { ok: false, error, stderr: result.stderr.trim() };
  }
  await rename(partial, out);
  return { ok: true, file: out, reused: false };
}
