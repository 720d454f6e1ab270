// The FMC patterns file (numbers.fmc_patterns_file): one pattern per line, X = any single digit.
// Checked lazily: on use, at most once per RECHECK_MS, a stat (no watcher, nothing to leak); the file
// is re-read when its inode, size, mtime or ctime changed. Missing/unreadable = no patterns, warned
// once per state change; a bad line is warned about with file:line and skipped.
import { readFileSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { MAX_NUMBER_LENGTH, stripSeparators } from './clean.js';

export const RECHECK_MS = 1000;
/** Bad lines warned about individually per load; the rest are counted in one summary line. */
const MAX_LINE_WARNINGS = 20;
const PATTERN = new RegExp(`^\\+?[0-9X]{1,${MAX_NUMBER_LENGTH}}$`);

export interface ParsedPatterns {
  /** Patterns without X: plain numbers. */
  exact: Set<string>;
  /** Patterns with X, grouped by length (a pattern only matches numbers of its own length). */
  masks: Map<number, string[]>;
  count: number;
  bad: Array<{ line: number; text: string }>;
}

/** Parses the file's text. Pure; exported for tests of the syntax. */
export function parsePatterns(text: string): ParsedPatterns {
  const exact = new Set<string>();
  const masks = new Map<number, string[]>();
  const bad: ParsedPatterns['bad'] = [];
  let count = 0;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const hash = line.indexOf('#');
    const body = (hash >= 0 ? line.slice(0, hash) : line).trim();
    if (body === '') continue;
    const pattern = stripSeparators(body).toUpperCase();
    if (!PATTERN.test(pattern)) {
      bad.push({ line: i + 1, text: body.length > 60 ? `${body.slice(0, 60)}…` : body });
      continue;
    }
    count++;
    if (!pattern.includes('X')) {
      exact.add(pattern);
    } else {
      const list = masks.get(pattern.length);
      if (list === undefined) masks.set(pattern.length, [pattern]);
      else if (!list.includes(pattern)) list.push(pattern);
    }
  }
  return { exact, masks, count, bad };
}

function maskMatches(mask: string, n: string): boolean {
  for (let i = 0; i < mask.length; i++) {
    const m = mask.charCodeAt(i);
    const c = n.charCodeAt(i);
    if (m === 88 /* X */) {
      if (c < 48 || c > 57) return false;
    } else if (m !== c) {
      return false;
    }
  }
  return true;
}

export function patternsMatch(p: Pick<ParsedPatterns, 'exact' | 'masks'>, cleaned: string): boolean {
  if (p.exact.has(cleaned)) return true;
  const list = p.masks.get(cleaned.length);
  if (list === undefined) return false;
  for (const mask of list) if (maskMatches(mask, cleaned)) return true;
  return false;
}

const NONE: Pick<ParsedPatterns, 'exact' | 'masks'> = { exact: new Set(), masks: new Map() };

export class FmcPatternsFile {
  private patterns = NONE;
  /** What the last check saw: a file signature, 'missing', or 'error:<code>'. */
  private state = '';
  private nextCheck = 0;
  private closed = false;

  constructor(readonly file: string, private readonly logger: Logger) {
    this.check();
  }

  /** Whether the cleaned number matches a pattern of the current file. */
  matches(cleaned: string): boolean {
    if (!this.closed && performance.now() >= this.nextCheck) this.check();
    return patternsMatch(this.patterns, cleaned);
  }

  close(): void {
    this.closed = true;
  }

  private check(): void {
    this.nextCheck = performance.now() + RECHECK_MS;
    let signature: string;
    try {
      const st = statSync(this.file, { bigint: true });
      if (!st.isFile()) {
        this.fail('error:ENOTFILE', 'not a regular file');
        return;
      }
      signature = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN';
      if (code === 'ENOENT' || code === 'ENOTDIR') this.fail('missing', 'not found; no FMC patterns until it appears');
      else this.fail(`error:${code}`, `cannot read (${code}); no FMC patterns until it can be read`);
      return;
    }
    if (signature === this.state) return;
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN';
      if (code === 'ENOENT') this.fail('missing', 'not found; no FMC patterns until it appears');
      else this.fail(`error:${code}`, `cannot read (${code}); no FMC patterns until it can be read`);
      return;
    }
    const parsed = parsePatterns(text);
    for (const { line, text: bad } of parsed.bad.slice(0, MAX_LINE_WARNINGS)) {
      this.logger.warn(
        { file: this.file, line, text: bad },
        `${this.file}:${line}: numbers.fmc_patterns_file: not a pattern (digits, optional leading "+", X = any digit, at most ${MAX_NUMBER_LENGTH}), line skipped`,
      );
    }
    if (parsed.bad.length > MAX_LINE_WARNINGS) {
      this.logger.warn({ file: this.file, skipped: parsed.bad.length }, `${this.file}: numbers.fmc_patterns_file: ${parsed.bad.length - MAX_LINE_WARNINGS} more bad lines skipped`);
    }
    this.patterns = parsed;
    this.state = signature;
    this.logger.info({ file: this.file, patterns: parsed.count, skipped: parsed.bad.length }, `${this.file}: ${parsed.count} FMC patterns loaded`);
  }

  /** No patterns; warn only when the state changes (not once a second while a file stays missing). */
  private fail(state: string, message: string): void {
    this.patterns = NONE;
    if (state !== this.state) this.logger.warn({ file: this.file }, `${this.file}: numbers.fmc_patterns_file: ${message}`);
    this.state = state;
  }
}
