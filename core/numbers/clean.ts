// Cleanup of raw number text: the one place that decides what counts as a phone number.

/**
 * The longest cleaned number accepted (characters, including a leading "+"). E.164 numbers have at most
 * 15 digits; 20 leaves room for an international or dial-out prefix. Longer text is not a number, so
 * customer regexes (auto-replacement) never run on more than 20 characters, which keeps even a badly
 * backtracking rule in the milliseconds.
 */
export const MAX_NUMBER_LENGTH = 20;

/** Separators people and PBXes put into numbers: whitespace, parentheses, dots, ASCII and Unicode dashes. */
const SEPARATORS = /[\s().\-\u2010-\u2015\u2212]+/g;
const NUMBER = /^\+?[0-9]+$/;

/** Untyped callers may hand over numbers or null: numbers become their decimal text, anything else ''. */
export function toText(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'bigint') return String(raw);
  return '';
}

/** Removes separators. Linear in the input; the result is what matching and base use. */
export function stripSeparators(text: string): string {
  return text.replace(SEPARATORS, '');
}

/**
 * The cleaned number (ASCII digits with an optional leading "+", 1 to MAX_NUMBER_LENGTH characters),
 * or null when the text is not a phone number (empty, letters, "*", "#", control characters, too long).
 */
export function cleanNumber(text: string): string | null {
  const cleaned = stripSeparators(text);
  if (cleaned.length === 0 || cleaned.length > MAX_NUMBER_LENGTH) return null;
  return NUMBER.test(cleaned) ? cleaned : null;
}

/** An employee extension: digits only (no "+"), 1..maxLength of them. Expects a cleaned number. */
export function isExtension(cleaned: string, maxLength: number): boolean {
  return cleaned.length <= maxLength && cleaned.charCodeAt(0) !== 43 /* '+' */;
}
