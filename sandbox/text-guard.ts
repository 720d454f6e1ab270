// What the host does with text a hook wrote, before anything else touches it.
//
// 1. Shape before parse: a result or log datum is checked for nesting depth and item count on its JSON text,
//    iteratively, before JSON.parse and before any recursive walk (ajv, JSON.stringify for traces and the
//    IPC, pino). A 4,000-level result would otherwise overflow the host's stack wherever it is walked, and
//    340,000 empty objects cost the host's event loop hundreds of milliseconds to materialise.
// 2. Control characters: a hook's log messages, log data and error messages reach terminals (`callhook try`,
//    `run`'s text report) and line-oriented logs. Escape sequences (OSC/CSI: window title, clipboard),
//    newlines (a forged second line that looks like another hook's HOOK_* error) and bidi overrides are
//    turned into visible escapes here, once, at the sandbox boundary, so every output downstream is safe.

/** Why a JSON text is refused (null = acceptable). The text is assumed to be JSON.stringify output. */
export function jsonShapeProblem(text: string, maxDepth: number, maxItems: number): string | null {
  let depth = 0;
  let items = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // Skip the string: find the closing quote that is not escaped (an odd run of backslashes escapes it).
      let j = i + 1;
      for (;;) {
        j = text.indexOf('"', j);
        if (j < 0) return 'the JSON text is cut off inside a string';
        let slashes = 0;
        for (let b = j - 1; text.charCodeAt(b) === 92 /* \ */; b--) slashes++;
        if (slashes % 2 === 0) break;
        j++;
      }
      i = j;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth++;
      items++;
      if (depth > maxDepth) return `nested more than ${maxDepth} levels deep`;
      if (items > maxItems) return `more than ${maxItems} values`;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
    } else if (c === 44 /* , */) {
      items++;
      if (items > maxItems) return `more than ${maxItems} values`;
    }
  }
  return null;
}

// C0 controls (newline and tab included), DEL and C1 controls, the Arabic letter mark, zero-width and
// direction marks, line/paragraph separators, bidi embeddings/overrides/isolates, word joiners, the BOM.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
const UNSAFE_TEST = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

function visible(ch: string): string {
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** True when the text holds a control, bidi or invisible formatting character. */
export function hasControl(text: string): boolean {
  return UNSAFE_TEST.test(text);
}

/** The text with every control, bidi and invisible formatting character written as a visible escape. */
export function escapeControl(text: string): string {
  return UNSAFE_TEST.test(text) ? text.replace(UNSAFE, visible) : text;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** escapeControl applied to every string and key of a (shape-checked, hence shallow) JSON value. */
export function escapeControlDeep<T extends Json>(value: T): T {
  if (typeof value === 'string') return escapeControl(value) as T;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => escapeControlDeep(v)) as T;
  const out: { [key: string]: Json } = {};
  for (const [k, v] of Object.entries(value)) out[escapeControl(k)] = escapeControlDeep(v);
  return out as T;
}
