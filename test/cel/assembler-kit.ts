// Shared helpers for the assembler tests (not a test file itself: the runner only runs *.test.ts).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CelRow } from '../../core/cel/row.js';
import { parseCelJsonLine } from '../../core/cel/sources/index.js';
import type { CallFull, NumberModel, StageEvent } from '../../core/cel/assembler/index.js';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'cel');
export const RECORDED = path.join(FIXTURES, 'cel-asterisk22-local.jsonl');

export function loadRows(file: string): CelRow[] {
  return readFileSync(file, 'utf8').split('\n').map((line, i) => ({ line, no: i + 1 }))
    .filter(({ line }) => line.trim() !== '')
    .map(({ line, no }) => parseCelJsonLine(line, no));
}

/** Rows of the recorded file grouped by its `scenario` column (which CelRow does not carry). */
export function recordedScenarioOfRow(): Map<number, string> {
  const map = new Map<number, string>();
  for (const line of readFileSync(RECORDED, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const o = JSON.parse(line) as { id: number; scenario: string };
    map.set(o.id, o.scenario);
  }
  return map;
}

/**
 * A number model with the demo's rule (2–4 digit numbers are internal). Used until/unless the
 * contract's core/numbers model is wired in; the assembler only needs build() and isInternal().
 */
export const testNumbers: NumberModel = {
  build: (raw) => ({ base: raw.replace(/^\+/, ''), custom: '', is_local: /^\d{2,4}$/.test(raw), original: raw, variants: [raw.replace(/^\+/, '')] }),
  isInternal: (raw) => /^\d{2,4}$/.test(raw),
};

export function stageString(stages: readonly StageEvent[], linkedid: string): string {
  const letter = { conversation_requested: 'r', conversation_accepted: 'a', conversation_ended: 'e', call_ended: 'E' } as const;
  return stages.filter((s) => s.linkedid === linkedid).map((s) => letter[s.stage as keyof typeof letter] ?? '?').join('');
}

/** The first answered conversation (by answer time), i.e. who picked up. */
export function answeredBy(call: CallFull): string | null {
  const answered = Object.values(call.conversations).filter((c) => c.channel.was_answered)
    .sort((a, b) => a.channel.answer_time.localeCompare(b.channel.answer_time));
  return answered[0]?.channel.to.original ?? null;
}

/** The last conversation that answered (after transfers, park retrieval, pickup). */
export function finalParty(call: CallFull): string | null {
  const answered = Object.values(call.conversations).filter((c) => c.channel.was_answered)
    .sort((a, b) => a.channel.answer_time.localeCompare(b.channel.answer_time));
  return answered[answered.length - 1]?.channel.to.original ?? null;
}
