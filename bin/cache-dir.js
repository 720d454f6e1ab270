// Where callhook keeps what it can recompute (transpiled TypeScript, type checks that passed): one folder
// per user, CALLHOOK_CACHE_DIR or <tmp>/callhook-cache-<uid>. Never inside the installation (it may be
// read-only, or shared). A folder that another user could write to is not used: a cache it planted would
// be trusted, so without a safe folder every start simply recomputes.
import { mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The cache folder for `name` (created), or null when there is no safe one. */
export function cacheDir(name) {
  const uid = typeof process.getuid === 'function' ? process.getuid() : null;
  const base = process.env.CALLHOOK_CACHE_DIR || path.join(os.tmpdir(), `callhook-cache-${uid ?? 'user'}`);
  try {
    mkdirSync(base, { recursive: true, mode: 0o700 });
    const st = statSync(base);
    if (!st.isDirectory() || (uid !== null && st.uid !== uid) || (st.mode & 0o022) !== 0) return null;
    const dir = path.join(base, name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  } catch {
    return null;
  }
}

/** Entries a cache folder keeps; past that, the least recently written go (once per process and folder). */
const MAX_ENTRIES = 2000;
const pruned = new Set();

/** Called before a write: keeps the folder from growing without end (every edit of a hook is a new entry). */
export function pruneOnce(dir) {
  if (pruned.has(dir)) return;
  pruned.add(dir);
  try {
    const names = readdirSync(dir);
    if (names.length <= MAX_ENTRIES) return;
    const byAge = names.map((name) => {
      const file = path.join(dir, name);
      try {
        return { file, at: statSync(file).mtimeMs };
      } catch {
        return { file, at: 0 };
      }
    }).sort((a, b) => a.at - b.at);
    for (const { file } of byAge.slice(0, names.length - MAX_ENTRIES / 2)) {
      try {
        unlinkSync(file);
      } catch {
        // taken by another process meanwhile
      }
    }
  } catch {
    // the cache is an optimisation: never an error
  }
}
