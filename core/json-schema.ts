// Small helpers every place that reads JSON Schemas or reports JSON pointers shares (the call_full
// contract, the settings loader and generators).

/** A JSON Schema (or any JSON object) as read from a file. */
export type JsonSchema = { [key: string]: unknown };

/** A JSON object: not null, not an array. */
export function isJsonObject(v: unknown): v is JsonSchema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One key as a JSON pointer segment (RFC 6901: `~` → `~0`, `/` → `~1`). */
export function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Why a settings pattern does not compile (as the code compiles them: `new RegExp(source)`, no flags),
 * or null when it does. V8's own message quotes the pattern; only the reason is kept.
 */
export function regexProblem(source: string): string | null {
  try {
    new RegExp(source);
    return null;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const at = message.lastIndexOf(': ');
    return at >= 0 ? message.slice(at + 2) : message;
  }
}
