// `callhook check`: loads a set of hooks through the hook host exactly as the connector does (type check of
// every hook and the helpers it imports, compile, load into the sandbox, pack manifests and settings), then
// reports every problem as `file:line:col: CODE message`. Nothing is called; what passes here loads in `run`.
import path from 'node:path';
import { createLogger } from '../core/log.js';
import { createHookHost, type HookHostOptions, type HookStatus } from './host.js';

export interface CheckProblem {
  /** Path of the file at fault, relative to the working directory when inside it. */
  file: string;
  line: number;
  column: number;
  code: string;
  message: string;
}

export interface CheckResult {
  /** Hook files looked at (pack entries and loose files). */
  files: number;
  /** Of those, how many failed (a pack that could not be read counts once). */
  failed: number;
  problems: CheckProblem[];
}

export function formatProblem(p: CheckProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.code} ${p.message}`;
}

function shown(abs: string): string {
  const rel = path.relative(process.cwd(), abs);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
}

/** A file named in a hook's status (its display name) as a path: loose files in the folder, pack files in the pack. */
function fileOf(entry: HookStatus, display: string): string {
  const root = path.dirname(entry.file);
  if (entry.source === 'file') return path.join(root, display);
  const slash = display.indexOf('/');
  // 'acme@1.2.0/lib/x.ts' → <pack>/lib/x.ts: the entry file sits at the top of its pack.
  return path.join(root, slash >= 0 ? display.slice(slash + 1) : display);
}

/**
 * Loads the hooks `options` describe (no watching, nothing invoked) and collects what failed. The host's
 * options decide everything else (type check on, the settings' packs and limits), so a hook passes here
 * exactly when the connector would load it.
 */
export async function checkHooks(options: HookHostOptions): Promise<CheckResult> {
  const host = await createHookHost({ ...options, watch: false, typecheck: true, logger: options.logger ?? createLogger({ level: 'silent' }) });
  try {
    await host.whenIdle();
    const status = host.status();
    const problems: CheckProblem[] = [];
    const seen = new Set<string>();
    const add = (p: CheckProblem): void => {
      // A helper imported by several hooks fails each of them with the same finding: say it once.
      const line = formatProblem(p);
      if (!seen.has(line)) {
        seen.add(line);
        problems.push(p);
      }
    };
    let failed = 0;
    for (const entry of status) {
      const e = entry.lastError;
      if (entry.state !== 'failed' || e === null) continue;
      failed++;
      if (entry.source === 'pack') {
        add({ file: shown(e.file), line: e.line ?? 1, column: e.column ?? 1, code: e.code, message: e.message });
        continue;
      }
      const findings = e.diagnostics ?? [{ file: e.file, line: e.line ?? 1, column: e.column ?? 1, code: e.code, message: e.message }];
      for (const d of findings) add({ file: shown(fileOf(entry, d.file)), line: d.line, column: d.column, code: d.code, message: d.message.split('\n')[0] ?? '' });
    }
    return { files: status.filter((s) => s.source !== 'pack').length, failed, problems };
  } finally {
    await host.close();
  }
}
