// JSON Lines: one object per line with the FreePBX `cel` column names (plus an optional `id`).
import type { CelRow } from '../row.js';
import { normalizeCelRecord, type NormalizedRow } from './normalize.js';
import { CelParseError } from './source.js';

/** Parses one line; throws CelParseError naming the line (and the field, when one is at fault). */
export function parseCelJsonLine(text: string, lineNo: number): CelRow {
  return parseCelJsonLineDetailed(text, lineNo).row;
}

export function parseCelJsonLineDetailed(text: string, lineNo: number): NormalizedRow {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CelParseError(lineNo, undefined, `not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CelParseError(lineNo, undefined, 'expected a JSON object with CEL columns');
  }
  return normalizeCelRecord(value as Record<string, unknown>, lineNo, lineNo);
}
