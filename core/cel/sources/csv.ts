// A small RFC 4180 reader: fields separated by commas, records by CRLF or LF; a field in double
// quotes may contain commas, quotes (doubled) and line breaks. Written here rather than pulled in
// because the CEL replay needs exactly this and good error positions (the physical line where the
// broken record starts), nothing more.
// An unterminated quote must not swallow the rest of the file: a record whose quoted field runs over a
// line break and then breaks the rules (text after a closing quote, more or fewer fields than the header,
// still open after MAX_QUOTED_LINES lines or at the end) is an error on its first line, and the lines
// after that first line are parsed again as records of their own.

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
  /** Set while a char is handled: the multi-line record broke a rule; feed() gives its lines back. */
  private abandon: string | undefined;
  /** Fields a record must have (the header's count), once known: a multi-line record with another count is a broken quote. */
  expectFields: number | undefined;

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
        if (this.abandon === undefined && this.replay !== undefined && this.line - this.recordLine > MAX_QUOTED_LINES) {
          this.abandon = `a quoted field opened on line ${this.recordLine} is not closed within ${MAX_QUOTED_LINES} lines (a missing \`"\`?)`;
        }
        if (this.abandon !== undefined) {
          const reason = this.abandon;
          this.abandon = undefined;
          pending = this.abandonQuote(reason) + chunk.slice(i + 1);
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
        this.replay = undefined; // nothing after it to read again
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
    if (this.replay !== undefined && this.error === undefined) {
      // The record took in a line break inside quotes and then broke a rule: the quote was most likely never meant to open.
      this.abandon = `a quoted field opened on line ${this.recordLine} runs into line ${this.line} and then ${message} (a missing \`"\`?)`;
      return;
    }
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
    if (this.state !== State.Broken) this.fields.push(this.field);
    if (this.replay !== undefined && this.expectFields !== undefined && this.fields.length !== this.expectFields && this.error === undefined) {
      this.fields.pop();
      this.abandon = `a quoted field opened on line ${this.recordLine} runs to line ${lastLine}, leaving ${this.fields.length + 1} fields instead of ${this.expectFields} (a missing \`"\`?)`;
      return;
    }
    this.replay = undefined;
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
