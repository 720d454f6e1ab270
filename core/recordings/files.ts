// A recording file on its way to the CRM: confined to the recordings root (symlinks resolved, so a link
// out of the root is refused like `..`), and finished: the PBX writes it while the call runs (MixMonitor)
// and may still be flushing it when the call ends, so a file counts as ready when its size and mtime have
// not changed for `stableMs` and it is not empty.
import { open, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export type Confined = { ok: true; path: string } | { ok: false; reason: string };

/** `file` inside `root`, or why not. A file that does not exist yet is judged by its path (and its parent's real path). */
export async function confine(root: string, file: string): Promise<Confined> {
  const absRoot = path.resolve(root);
  const abs = path.resolve(absRoot, file);
  const inside = (r: string, p: string): boolean => {
    const rel = path.relative(r, p);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  };
  if (!inside(absRoot, abs)) return { ok: false, reason: `${abs} is outside the recordings root ${absRoot} (hooks.recordings_root)` };
  let realRoot = absRoot;
  try {
    realRoot = await realpath(absRoot);
  } catch {
    return { ok: true, path: abs };
  }
  // The deepest existing ancestor decides: a symlinked folder or file out of the root is refused.
  let probe = abs;
  for (;;) {
    try {
      const real = await realpath(probe);
      if (real !== realRoot && !inside(realRoot, real)) return { ok: false, reason: `${abs} leads out of the recordings root ${absRoot} through a symbolic link (to ${real})` };
      return { ok: true, path: abs };
    } catch {
      const parent = path.dirname(probe);
      if (parent === probe) return { ok: true, path: abs };
      probe = parent;
    }
  }
}

export type Readiness =
  | { state: 'ready'; size: number }
  | { state: 'missing' | 'empty' | 'growing' | 'unreadable' | 'not_a_file'; detail: string };

/** Looks at the file twice, `stableMs` apart. */
export async function readiness(file: string, stableMs: number): Promise<Readiness> {
  const look = async (): Promise<Readiness | { state: 'seen'; size: number; mtime: number }> => {
    try {
      const s = await stat(file);
      if (!s.isFile()) return { state: 'not_a_file', detail: `${file} is not a regular file` };
      return { state: 'seen', size: s.size, mtime: s.mtimeMs };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return code === 'ENOENT' ? { state: 'missing', detail: `${file} does not exist (yet)` } : { state: 'unreadable', detail: `${file}: ${code ?? String(error)}` };
    }
  };
  const first = await look();
  if (first.state !== 'seen') return first;
  await new Promise((r) => setTimeout(r, stableMs));
  const second = await look();
  if (second.state !== 'seen') return second;
  if (second.size !== first.size || second.mtime !== first.mtime) return { state: 'growing', detail: `${file} is still being written (${first.size} → ${second.size} bytes in ${stableMs} ms)` };
  if (second.size === 0) return { state: 'empty', detail: `${file} is empty` };
  try {
    const h = await open(file, 'r');
    await h.close();
  } catch (error) {
    return { state: 'unreadable', detail: `${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
  return { state: 'ready', size: second.size };
}
