// The `numbers` settings section (types/settings/numbers.schema.json) and its validation.
// NumberSettings is the generated type of the schema's `numbers` section; DEFAULT_NUMBER_SETTINGS mirrors
// its defaults (a test keeps both in step).
// compileNumberSettings checks every key (so a hand-built or stale settings object fails early, with
// the key's name) and compiles the auto-replacement regexes once.
import type { NumbersSettings } from '../../types/settings.js';
import { regexProblem } from '../json-schema.js';
import { MAX_NUMBER_LENGTH, cleanNumber } from './clean.js';

/** The `numbers` section of the settings file (types/settings/numbers.schema.json, generated type). */
export type NumberSettings = NumbersSettings;

export const DEFAULT_NUMBER_SETTINGS: Readonly<NumberSettings> = Object.freeze({
  prefixes: Object.freeze(['+7', '8', '7']) as string[],
  internal_max_length: 4,
  fmc_numbers: Object.freeze([]) as unknown as string[],
  fmc_patterns_file: '',
  auto_replace: Object.freeze([]) as unknown as NumberSettings['auto_replace'],
});

/** A `numbers` setting that cannot work; the message starts with the key, e.g. `numbers.prefixes[2]: …`. */
export class NumberSettingsError extends Error {
  override name = 'NumberSettingsError';
}

export interface CompiledRule {
  pattern: RegExp;
  replacement: string;
}

export interface CompiledNumberSettings {
  /** As configured (variants order). */
  prefixes: string[];
  /** Longest first (base stripping). */
  prefixesByLength: string[];
  internalMaxLength: number;
  fmcNumbers: Set<string>;
  fmcPatternsFile: string;
  rules: CompiledRule[];
}

const KEYS = new Set(Object.keys(DEFAULT_NUMBER_SETTINGS));
const PREFIX = /^\+?[0-9]+$/;

function fail(key: string, message: string): never {
  throw new NumberSettingsError(`numbers.${key}: ${message}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}

function arrayOf(key: string, value: unknown): unknown[] {
  if (!Array.isArray(value)) fail(key, `must be an array, got ${describe(value)}`);
  return value;
}

function stringAt(key: string, value: unknown): string {
  if (typeof value !== 'string') fail(key, `must be a string, got ${describe(value)}`);
  return value;
}


/**
 * Validates the section and compiles it. Missing keys (undefined) take their defaults, as the
 * settings loader would fill them; unknown keys and wrong values throw NumberSettingsError.
 */
export function compileNumberSettings(settings: NumberSettings): CompiledNumberSettings {
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    throw new NumberSettingsError(`numbers: must be an object, got ${describe(settings)}`);
  }
  for (const key of Object.keys(settings)) {
    if (!KEYS.has(key)) fail(key, 'unknown setting');
  }
  const s: NumberSettings = { ...DEFAULT_NUMBER_SETTINGS };
  for (const [key, value] of Object.entries(settings)) {
    if (value !== undefined) (s as unknown as Record<string, unknown>)[key] = value;
  }

  const prefixes = arrayOf('prefixes', s.prefixes).map((p, i) => {
    const prefix = stringAt(`prefixes[${i}]`, p);
    if (!PREFIX.test(prefix)) fail(`prefixes[${i}]`, `must be digits with an optional leading "+", got ${JSON.stringify(prefix)}`);
    return prefix;
  });
  prefixes.forEach((p, i) => {
    const first = prefixes.indexOf(p);
    if (first !== i) fail(`prefixes[${i}]`, `duplicate of numbers.prefixes[${first}] ${JSON.stringify(p)}`);
  });

  const max = s.internal_max_length;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > MAX_NUMBER_LENGTH) {
    fail('internal_max_length', `must be an integer from 1 to ${MAX_NUMBER_LENGTH}, got ${typeof max === 'number' ? String(max) : describe(max)}`);
  }

  const fmcNumbers = new Set<string>();
  arrayOf('fmc_numbers', s.fmc_numbers).forEach((n, i) => {
    const text = stringAt(`fmc_numbers[${i}]`, n);
    const cleaned = cleanNumber(text);
    if (cleaned === null) {
      fail(`fmc_numbers[${i}]`, `not a phone number (digits with an optional leading "+", at most ${MAX_NUMBER_LENGTH}): ${JSON.stringify(text)}`);
    }
    fmcNumbers.add(cleaned);
  });

  const fmcPatternsFile = stringAt('fmc_patterns_file', s.fmc_patterns_file).trim();

  const rules = arrayOf('auto_replace', s.auto_replace).map((rule, i): CompiledRule => {
    const key = `auto_replace[${i}]`;
    if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) fail(key, `must be an object {pattern, replacement}, got ${describe(rule)}`);
    for (const k of Object.keys(rule)) {
      if (k !== 'pattern' && k !== 'replacement') fail(`${key}.${k}`, 'unknown setting');
    }
    const { pattern, replacement } = rule as Record<string, unknown>;
    const source = stringAt(`${key}.pattern`, pattern);
    if (source === '') fail(`${key}.pattern`, 'must not be empty');
    const text = stringAt(`${key}.replacement`, replacement);
    const problem = regexProblem(source);
    if (problem !== null) fail(`${key}.pattern`, `invalid regular expression ${JSON.stringify(source)}: ${problem}`);
    return { pattern: new RegExp(source), replacement: text };
  });

  return {
    prefixes,
    prefixesByLength: [...prefixes].sort((a, b) => b.length - a.length),
    internalMaxLength: max,
    fmcNumbers,
    fmcPatternsFile,
    rules,
  };
}
