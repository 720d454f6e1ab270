// Input quoted in a message (a value from a file or a table, a JSON.parse error, a header) never reaches a
// terminal raw: control characters, DEL/C1 and U+FFFD are escaped and long text is cut.

/** A value quoted as a JSON string, cut to `max` characters. */
export function printable(text: string, max = 60): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  // JSON.stringify escapes C0 controls and lone surrogates; DEL, C1 controls and U+FFFD are escaped here.
  return JSON.stringify(cut).replace(/[\u007f-\u009f\ufffd]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A whole message that may quote input: control characters escaped, cut to `max`. */
export function escapeControls(text: string, max = 300): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return cut.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
