// How a file of a hook's folder or pack is named to users. Its own module so that the sandbox child
// process (which maps stack frames) does not load the compiler.
import path from 'node:path';

export interface HookSource {
  /** Absolute path of the entry .ts. */
  file: string;
  /** Folder or pack root; relative imports must stay inside it. */
  root: string;
  /** How the file is named to users, e.g. 'need_registration.ts' or 'acme-pack@1.2.0/hooks/x.ts'. */
  displayName: string;
}

/** The name a file inside the root is shown as: the pack prefix of displayName + its path in the root. */
export function displayNameFor(source: HookSource, relPath: string): string {
  const entryRel = path.relative(source.root, source.file).split(path.sep).join('/');
  const rel = relPath.split(path.sep).join('/');
  if (rel === entryRel) return source.displayName;
  const prefix = source.displayName.endsWith(entryRel) ? source.displayName.slice(0, source.displayName.length - entryRel.length) : '';
  return prefix + rel;
}
