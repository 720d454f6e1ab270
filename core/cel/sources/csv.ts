// A small RFC 4180 reader: fields separated by commas, records by CRLF or LF; a field in double
// quotes may contain commas, quotes (doubled) and line breaks. Written here rather than pulled in
// because the CEL replay needs exactly this and good error positions (the physical line where the
// broken record starts), nothing more.
// An unterminated quote must not swallow the rest of the file: a quoted field still open after
// MAX_QUOTED_LINES lines (or at the end) makes its record an error, and the lines after the record's
// first line are parsed again as records of their own.

export interface CsvRecord {
  /** Physical line (1-based) where the record starts; records may span lines inside quotes. */
  line: number;
  /** Physical line where it ends (set only when that is not `line`). */
  endLine?: number;
  fields: string[];
  /** Set when the record breaks the quoting rules; `fields` is then incomplete. */
  error?: string;
}

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  /** Saw `"` inside a quoted field: either an escaped quote (`""`) or the closing quote. */
  QuoteInQuoted,
  /** After a quoting error: skip to the end of the record. */
  Broken,
}

/** A quoted field may hold line breaks, but one still open after this many lines is taken for a missing `"`. */
export const MAX_QUOTED_LINES = 20;

/** Incremental parser: feed chunks with push(), then call end(). Chunks may split anywhere. */
export class CsvParser {
  private state = State.FieldStart;
  private field = '';
  private fields: string[] = [];
  private line = 1;
  private recordLine = 1;
  private pendingCR = false;
  private error: string | undefined;
  private out: CsvRecord[] = [];
  /** Text after the first line break inside the current record's quoted field: parsed again if the quote never closes. */
  private replay: string | undefined;

  push(chunk: string): CsvRecord[] {
    this.feed(chunk);
    return this.take();
  }

  private feed(text: string): void {
    let pending: string | undefined = text;
    while (pending !== undefined) {
      const chunk: string = pending;
      pending = undefined;
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i] as string;
        if (this.replay !== undefined) this.replay += c;
        this.char(c);
        if (this.replay !== undefined && this.line - this.recordLine > MAX_QUOTED_LINES) {
          pending = this.abandonQuote(`a quoted field opened on line ${this.recordLine} is not closed within ${MAX_QUOTED_LINES} lines (a missing \`"\`?)`) + chunk.slice(i + 1);
          break;
        }
      }
    }
  }

  /** Ends the current record as an error and returns the text after its first line, to be parsed again. */
  private abandonQuote(reason: string): string {
    const again = this.replay ?? '';
    const startLine = this.recordLine;
    this.replay = undefined;
    this.out.push({ line: startLine, fields: this.fields, error: `${reason}; the record is skipped and line ${startLine + 1} is read again` });
    this.fields = [];
    this.field = '';
    this.error = undefined;
    this.state = State.FieldStart;
    this.pendingCR = false;
    this.line = startLine + 1;
    this.recordLine = this.line;
    return again;
  }

  end(): CsvRecord[] {
    for (;;) {
      if (this.pendingCR) {
        this.pendingCR = false;
        this.endRecord();
      } else if (this.state === State.Quoted && this.replay !== undefined && this.replay !== '') {
        // The quote is never closed and swallowed the lines after its record's first line: read them again.
        this.feed(this.abandonQuote('unterminated quoted field (a `"` is never closed)'));
        continue;
      } else if (this.state === State.Quoted) {
        this.fail('unterminated quoted field (a `"` is never closed)');
        this.endRecord(this.line);
      } else if (this.state !== State.FieldStart || this.fields.length > 0 || this.error !== undefined) {
        this.endRecord(this.line);
      }
      return this.take();
    }
  }

  private take(): CsvRecord[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private char(c: string): void {
    if (this.pendingCR) {
      this.pendingCR = false;
      if (c === '\n') {
        this.line++;
        this.endRecord();
        return;
      }
      // A lone CR is ordinary data (but not after a closing quote).
      if (this.state === State.QuoteInQuoted) this.fail(`text after the closing quote of field ${this.fields.length + 1}`);
      else if (this.state !== State.Broken) {
        this.field += '\r';
        if (this.state === State.FieldStart) this.state = State.Unquoted;
      }
    }
    switch (this.state) {
      case State.FieldStart:
        if (c === '"') this.state = State.Quoted;
        else if (c === ',') this.endField();
        else if (c === '\n') this.newline();
        else if (c === '\r') this.pendingCR = true;
        else {
          this.field += c;
          this.state = State.Unquoted;
        }
        return;
      case State.Unquoted:
        if (c === ',') this.endField();
        else if (c === '\n') this.newline();
        else if (c === '\r') this.pendingCR = true;
        else if (c === '"') this.fail(`a '"' inside an unquoted field (field ${this.fields.length + 1}); quote the whole field and double the quote`);
        else this.field += c;
        return;
      case State.Quoted:
        if (c === '"') this.state = State.QuoteInQuoted;
        else {
          if (c === '\n') {
            this.line++;
            this.replay ??= '';
          }
          this.field += c;
        }
        return;
      case State.QuoteInQuoted:
        if (c === '"') {
          this.field += '"';
          this.state = State.Quoted;
        } else if (c === ',') this.endField();
        else if (c === '\n') this.newline();
        else if (c === '\r') this.pendingCR = true;
        else this.fail(`text after the closing quote of field ${this.fields.length + 1}`);
        return;
      case State.Broken:
        if (c === '\n') this.newline();
        else if (c === '\r') this.pendingCR = true;
        return;
    }
  }

  private newline(): void {
    this.line++;
    this.endRecord();
  }

  private fail(message: string): void {
    this.error ??= message;
    this.state = State.Broken;
  }

  private endField(): void {
    this.fields.push(this.field);
    this.field = '';
    this.state = State.FieldStart;
  }

  /** `lastLine`: where the record ended (after a line break the counter is already on the next line). */
  private endRecord(lastLine = this.line - 1): void {
    this.replay = undefined;
    if (this.state !== State.Broken) this.fields.push(this.field);
    const blank = this.error === undefined && this.fields.length === 1 && this.fields[0] === '';
    if (!blank) {
      const record: CsvRecord = { line: this.recordLine, fields: this.fields };
      if (lastLine > this.recordLine) record.endLine = lastLine;
      if (this.error !== undefined) record.error = this.error;
      this.out.push(record);
    }
    this.fields = [];
    this.field = '';
    this.error = undefined;
    this.state = State.FieldStart;
    this.recordLine = this.line;
  }
}

/** Parses a whole string (tests, small files). */
export function parseCsv(text: string): CsvRecord[] {
  const parser = new CsvParser();
  return [...parser.push(text), ...parser.end()];
}
