// The AMI wire format: "Key: Value\r\n" lines, a blank line ends a message; the server greets with one
// banner line ("Asterisk Call Manager/x.y.z") before the first message. The parser works on bytes and
// only decodes a whole message, so a multi-byte UTF-8 character (a Cyrillic caller name) split across
// two TCP chunks is never broken.

/** One AMI message: header names as sent (case kept), values in order; repeated keys (Variable) kept. */
export interface AmiMessage {
  /** First value of each header, looked up case-insensitively through `get`. */
  readonly fields: ReadonlyArray<readonly [string, string]>;
  get(name: string): string | undefined;
  all(name: string): string[];
}

export function messageOf(fields: Array<[string, string]>): AmiMessage {
  return {
    fields,
    get(name) {
      const n = name.toLowerCase();
      return fields.find(([k]) => k.toLowerCase() === n)?.[1];
    },
    all(name) {
      const n = name.toLowerCase();
      return fields.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
    },
  };
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');
const LF_LF = Buffer.from('\n\n');
/** A message longer than this without a blank line is garbage or an attack: the connection is reset. */
export const MAX_MESSAGE_BYTES = 1 << 20;

export class AmiProtocolError extends Error {
  constructor(readonly code: 'AMI_MESSAGE_TOO_LONG' | 'AMI_BAD_BANNER', message: string) {
    super(message);
  }
}

/** Feeds bytes in, yields whole messages (and the banner once). Holds at most one partial message. */
export class AmiParser {
  private pending: Buffer = Buffer.alloc(0);
  private bannerSeen = false;
  banner: string | null = null;

  push(chunk: Buffer): AmiMessage[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: AmiMessage[] = [];
    if (!this.bannerSeen) {
      const nl = this.pending.indexOf(0x0a);
      if (nl < 0) {
        if (this.pending.length > 1024) throw new AmiProtocolError('AMI_BAD_BANNER', 'the server sent no AMI banner line: is this the AMI port (manager.conf, usually 5038)?');
        return out;
      }
      this.banner = this.pending.subarray(0, nl).toString('utf8').replace(/\r$/, '');
      this.bannerSeen = true;
      this.pending = this.pending.subarray(nl + 1);
      if (!/^Asterisk Call Manager/i.test(this.banner)) {
        throw new AmiProtocolError('AMI_BAD_BANNER', `the server did not greet as Asterisk AMI ("${this.banner.slice(0, 60)}"): check ami.host/ami.port`);
      }
    }
    for (;;) {
      const crlf = this.pending.indexOf(CRLF_CRLF);
      const lf = this.pending.indexOf(LF_LF);
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
      if (end < 0) break;
      const sep = end === crlf ? 4 : 2;
      const raw = this.pending.subarray(0, end).toString('utf8');
      this.pending = this.pending.subarray(end + sep);
      const msg = parseBlock(raw);
      if (msg !== null) out.push(msg);
    }
    if (this.pending.length > MAX_MESSAGE_BYTES) {
      throw new AmiProtocolError('AMI_MESSAGE_TOO_LONG', `an AMI message exceeded ${MAX_MESSAGE_BYTES} bytes without an end`);
    }
    return out;
  }
}

function parseBlock(raw: string): AmiMessage | null {
  const fields: Array<[string, string]> = [];
  for (const line of raw.split(/\r?\n/)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      // Command output lines (Action: Command) have no key: keep them under "Output".
      fields.push(['Output', line]);
      continue;
    }
    fields.push([line.slice(0, colon).trim(), line.slice(colon + 1).replace(/^ /, '')]);
  }
  return fields.length === 0 ? null : messageOf(fields);
}

/** A value written into a header may not break the framing: CR/LF would start a new header or message. */
export function assertHeaderSafe(name: string, value: string): void {
  if (/[\r\n]/.test(name) || /[\r\n]/.test(value) || name.includes(':') || name.trim() === '') {
    throw new Error(`AMI_BAD_HEADER: header ${JSON.stringify(name)} has a line break or colon in its name or value`);
  }
}

export function encodeAction(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  let text = '';
  for (const [k, v] of fields) {
    assertHeaderSafe(k, v);
    text += `${k}: ${v}\r\n`;
  }
  return Buffer.from(`${text}\r\n`, 'utf8');
}
