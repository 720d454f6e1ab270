// Reads a settings file's JSON text. JSON.parse does the parsing; this scanner only finds WHERE the text is
// wrong (line and column of the first syntax error, and duplicate keys, which JSON.parse silently lets the
// last one win). Its messages never quote the text: a settings file holds passwords, and V8's own message
// may include a snippet of the source.

export interface JsonTextProblem {
  /** 1-based. */
  line: number;
  /** 1-based, in characters. */
  column: number;
  message: string;
}

class Stop extends Error {
  constructor(readonly at: number, message: string) {
    super(message);
  }
}

const WS = new Set([' ', '\t', '\n', '\r']);

/** Describes the character at a position without quoting the surrounding text. */
function what(text: string, at: number): string {
  if (at >= text.length) return 'end of file';
  const c = text[at]!;
  if (c === '\n' || c === '\r') return 'end of line';
  return /[\x20-\x7e]/.test(c) ? `'${c}'` : `character U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

class Scanner {
  pos = 0;
  readonly problems: JsonTextProblem[] = [];

  constructor(private readonly text: string, private readonly position: (at: number) => { line: number; column: number }) {}

  fail(message: string, at = this.pos): never {
    throw new Stop(at, message);
  }

  ws(): void {
    while (this.pos < this.text.length && WS.has(this.text[this.pos]!)) this.pos++;
  }

  value(): void {
    this.ws();
    const c = this.text[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return void this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const word of ['true', 'false', 'null']) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return;
      }
    }
    if (c === undefined) this.fail('unexpected end of file: a value is missing');
    if (c === "'") this.fail("strings must use double quotes (\")");
    if (c === '}' || c === ']' || c === ',') this.fail(`expected a value, found ${what(this.text, this.pos)}`);
    this.fail(`expected a value (string, number, object, array, true, false or null), found ${what(this.text, this.pos)}`);
  }

  object(): void {
    this.pos++; // {
    const keys = new Set<string>();
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return;
    }
    for (;;) {
      this.ws();
      const keyAt = this.pos;
      if (this.text[this.pos] !== '"') {
        if (this.text[this.pos] === '}') this.fail('trailing comma before }');
        this.fail(`expected a double-quoted key, found ${what(this.text, this.pos)}`);
      }
      const key = this.string();
      if (keys.has(key)) this.problems.push({ ...this.position(keyAt), message: `duplicate key ${JSON.stringify(key)} (the later value would silently win)` });
      keys.add(key);
      this.ws();
      if (this.text[this.pos] !== ':') this.fail(`expected ':' after a key, found ${what(this.text, this.pos)}`);
      this.pos++;
      this.value();
      this.ws();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        return;
      }
      this.fail(c === undefined ? "unexpected end of file: '}' is missing" : `expected ',' or '}' after a value, found ${what(this.text, this.pos)}`);
    }
  }

  array(): void {
    this.pos++; // [
    this.ws();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] === ']') this.fail('trailing comma before ]');
      this.value();
      this.ws();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        return;
      }
      this.fail(c === undefined ? "unexpected end of file: ']' is missing" : `expected ',' or ']' after a value, found ${what(this.text, this.pos)}`);
    }
  }

  /** Returns the decoded string (keys are compared decoded). */
  string(): string {
    const start = this.pos;
    this.pos++; // "
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) this.fail('unexpected end of file inside a string', start);
      if (c === '"') {
        this.pos++;
        return JSON.parse(this.text.slice(start, this.pos)) as string;
      }
      if (c === '\n' || c === '\r') this.fail('line break inside a string (write \\n)');
      if (c < ' ') this.fail('control character inside a string');
      if (c === '\\') {
        const e = this.text[this.pos + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.pos + 2, this.pos + 6))) this.fail('bad \\u escape (needs 4 hex digits)');
          this.pos += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) this.fail('bad escape in a string (a backslash in a regular expression is written \\\\)');
        this.pos += 2;
        continue;
      }
      this.pos++;
    }
  }

  number(): void {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.text.slice(this.pos));
    if (!m || m[0] === '-') this.fail('bad number');
    this.pos += m[0].length;
    const next = this.text[this.pos];
    if (next !== undefined && /[0-9A-Za-z.]/.test(next)) this.fail('bad number');
  }
}

/** 1-based line and column of a character offset (\r\n, \n and \r end a line). */
export function lineColumn(text: string, at: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < at && i < text.length; i++) {
    const c = text[i];
    if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: at - lineStart + 1 };
}

/**
 * Parses JSON text. Returns the value, or the problems: the first syntax error, or every duplicate key.
 * A leading byte order mark is ignored.
 */
export function parseJsonText(raw: string): { ok: true; value: unknown } | { ok: false; problems: JsonTextProblem[] } {
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  const scanner = new Scanner(text, (at) => lineColumn(text, at));
  try {
    scanner.ws();
    if (scanner.pos >= text.length) scanner.fail('the file is empty (write {} for all defaults)');
    scanner.value();
    scanner.ws();
    if (scanner.pos < text.length) scanner.fail(`unexpected ${what(text, scanner.pos)} after the end of the JSON value`);
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
    return { ok: false, problems: [{ ...lineColumn(text, error.at), message: error.message }] };
  }
  if (scanner.problems.length > 0) return { ok: false, problems: scanner.problems };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    // The scanner accepts exactly JSON; should JSON.parse still refuse, say so without its message (it may quote the text).
    return { ok: false, problems: [{ line: 1, column: 1, message: 'not valid JSON' }] };
  }
}
