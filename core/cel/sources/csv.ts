// A small RFC 4180 reader: fields separated by commas, records by CRLF or LF; a field in double
// quotes may contain commas, quotes (doubled) and line breaks. Written here rather than pulled in
// because the CEL replay needs exactly this and good error positions (the physical line where the
// broken record starts), nothing more.

export interface CsvRecord {
  /** Physical line (1-based) where the record starts; records may span lines inside quotes. */
  line: number;
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

  push(chunk: string): CsvRecord[] {
    for (let i = 0; i < chunk.length; i++) this.char(chunk[i] as string);
    return this.take();
  }

  end(): CsvRecord[] {
    if (this.pendingCR) {
      this.pendingCR = false;
      this.endRecord();
    } else if (this.state === State.Quoted) {
      this.fail('unterminated quoted field (a `"` is never closed)');
      this.endRecord();
    } else if (this.state !== State.FieldStart || this.fields.length > 0 || this.error !== undefined) {
      this.endRecord();
    }
    return this.take();
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
          if (c === '\n') this.line++;
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

  private endRecord(): void {
    if (this.state !== State.Broken) this.fields.push(this.field);
    const blank = this.error === undefined && this.fields.length === 1 && this.fields[0] === '';
    if (!blank) {
      const record: CsvRecord = { line: this.recordLine, fields: this.fields };
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
