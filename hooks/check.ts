// Type-checks every hook of a folder (loose files, or a pack's manifest files) the way the host does
// before a reload, for `callhook check` and for CI.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { isHookPointName } from './catalogue.js';
import { isHookFileName, pointFromFileName } from './host.js';
import { PACK_MANIFEST } from './packs.js';
import { HookTypeChecker, declaredPointInSource, type TypeDiagnostic } from './typecheck.js';

export interface FolderCheck {
  files: string[];
  diagnostics: TypeDiagnostic[];
}

/** The hook files of a folder with the point each must implement (null = decided by the file). */
function hookFiles(dir: string): Array<{ file: string; point: string | null }> {
  const manifestFile = path.join(dir, PACK_MANIFEST);
  if (existsSync(manifestFile)) {
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { hooks?: Array<{ hook?: string; file?: string }> };
    return (manifest.hooks ?? [])
      .filter((h): h is { hook: string; file: string } => typeof h.file === 'string' && typeof h.hook === 'string')
      .map((h) => ({ file: path.join(dir, h.file), point: h.hook }));
  }
  return readdirSync(dir)
    .filter(isHookFileName)
    .sort()
    .map((name) => ({ file: path.join(dir, name), point: null }));
}

export function checkFolder(dir: string, checker: HookTypeChecker = new HookTypeChecker()): FolderCheck {
  const out: FolderCheck = { files: [], diagnostics: [] };
  const files = hookFiles(dir);
  for (const { file, point } of files) {
    // one program for the whole folder (see HookTypeChecker.prime)
    try {
      const text = readFileSync(file, 'utf8');
      const p = point ?? declaredPointInSource(text) ?? pointFromFileName(file);
      checker.prime(file, text, isHookPointName(p) ? p : null);
    } catch {
      // reported below
    }
  }
  for (const { file, point: manifestPoint } of files) {
    const display = path.relative(process.cwd(), file) || file;
    out.files.push(display);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      out.diagnostics.push({ file: display, line: 1, column: 1, code: 0, message: `cannot read: ${(err as Error).message}` });
      continue;
    }
    const point = manifestPoint ?? declaredPointInSource(text) ?? pointFromFileName(file);
    if (!isHookPointName(point)) {
      out.diagnostics.push({ file: display, line: 1, column: 1, code: 0, message: `'${point}' is not a hook point (see docs/hooks.md)` });
      continue;
    }
    out.diagnostics.push(...checker.check(file, text, point, display));
  }
  return out;
}
