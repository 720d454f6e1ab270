// Shared helpers for the number model tests (not a test file itself: the runner only runs *.test.ts).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A real pino logger whose lines land in an array. */
export function captureLogger(): { logger: Logger; lines: LogLine[]; warnings: () => string[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug', base: undefined }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines, warnings: () => lines.filter((l) => l.level === 40).map((l) => l.msg) };
}

export function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'callhook-numbers-'));
}

/** Polls until cond() holds (every 25 ms, up to timeoutMs), instead of sleeping a fixed time. */
export async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The spec's example configuration (call_full.md, "Number"). */
export const SPEC_PREFIXES = ['+7495', '8495', '+7', '7', '8'];
export const SPEC_RULE = { pattern: '^\\+7(\\d{10})$', replacement: '8$1' };
