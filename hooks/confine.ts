// Keeps a hook-chosen recording path inside the configured recordings root. A hook may return a
// path relative to the root or an absolute path inside it; `..` segments, absolute paths elsewhere and
// paths that leave the root through a symlink are refused (the hook then counts as failed and the
// previous path stays in effect).
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { escapeControl, hasControl } from '../sandbox/text-guard.js';

export type ConfineResult = { ok: true; path: string } | { ok: false; reason: string };

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The deepest existing ancestor of p (p itself when it exists), resolved through symlinks. */
function realpathOfExistingPart(p: string): string {
  let current = p;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(realpathSync(current), ...rest.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return p;
      rest.push(path.basename(current));
      current = parent;
    }
  }
}

// The root's own resolution rarely changes; caching it halves the syscalls per hook result.
// (The candidate is always resolved afresh: that is where a symlink escape would be.)
const rootCache = new Map<string, { real: string; at: number }>();
function rootRealpath(root: string): string {
  const hit = rootCache.get(root);
  const now = Date.now();
  if (hit && now - hit.at < 5000) return hit.real;
  const real = realpathOfExistingPart(root);
  rootCache.set(root, { real, at: now });
  return real;
}

export function confineToRoot(recordingsRoot: string, requested: string): ConfineResult {
  if (requested.includes('\0')) return { ok: false, reason: 'path contains a NUL byte' };
  // A file name with control or bidi characters is never a recording name, and would be shown raw in
  // terminals and the CRM: refused, not cleaned.
  if (hasControl(requested)) return { ok: false, reason: `path ${escapeControl(JSON.stringify(requested))} contains control or bidi characters` };
  if (requested.split(/[\\/]+/).includes('..')) return { ok: false, reason: `path '${requested}' contains '..'` };
  const root = path.resolve(recordingsRoot);
  // resolve() also drops trailing separators, so 'root/' and 'root/.' are the root itself.
  const candidate = path.resolve(root, requested);
  if (candidate === root || !isInside(root, candidate)) {
    return { ok: false, reason: `path '${requested}' is ${candidate === root ? 'the recordings root itself, not a file in it' : `outside the recordings root ${root}`}` };
  }
  const realRoot = rootRealpath(root);
  const realCandidate = realpathOfExistingPart(candidate);
  if (realCandidate === realRoot) return { ok: false, reason: `path '${requested}' leads to the recordings root itself, not a file in it` };
  if (!isInside(realRoot, realCandidate)) {
    return { ok: false, reason: `path '${requested}' leaves the recordings root through a symlink` };
  }
  return { ok: true, path: candidate };
}
