// A file as physical lines, read in chunks (constant memory): each line is checked to be UTF-8 before it
// is decoded, so bytes that are not UTF-8 are reported (they still become U+FFFD: the row is kept), and a
// "line" longer than MAX_LINE_BYTES (a binary file without newlines) is skipped instead of filling memory.
import { createReadStream } from 'node:fs';
import { isUtf8 } from 'node:buffer';

export const MAX_LINE_BYTES = 1 << 20;

export interface FileLine {
  /** 1-based physical line number. */
  no: number;
  /** The line without its `\n` (a `\r` before it is kept: CSV needs it, JSON ignores it as whitespace). */
  text: string;
  /** The bytes were not valid UTF-8 (invalid sequences became U+FFFD). */
  badUtf8: boolean;
  /** The line was longer than MAX_LINE_BYTES: `text` is empty and the line must be rejected. */
  tooLong: boolean;
}

export async function* readLines(file: string): AsyncGenerator<FileLine> {
  let no = 0;
  let parts: Buffer[] = [];
  let partBytes = 0;
  let tooLong = false;
  const finish = (last: Buffer): FileLine => {
    no++;
    const whole = parts.length === 0 ? last : Buffer.concat([...parts, last]);
    parts = [];
    partBytes = 0;
    if (tooLong) {
      tooLong = false;
      return { no, text: '', badUtf8: false, tooLong: true };
    }
    const ok = isUtf8(whole);
    return { no, text: whole.toString('utf8'), badUtf8: !ok, tooLong: false };
  };
  // 1 MiB reads: fewer wake-ups than the 64 KiB default, and the CPU is not left idle waiting for them.
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      yield finish(chunk.subarray(start, nl));
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (!tooLong) {
        partBytes += rest.length;
        if (partBytes > MAX_LINE_BYTES) {
          tooLong = true;
          parts = [];
        } else parts.push(Buffer.from(rest)); // copy: the stream may reuse its buffer
      }
    }
  }
  if (parts.length > 0 || tooLong) yield finish(Buffer.alloc(0));
}
