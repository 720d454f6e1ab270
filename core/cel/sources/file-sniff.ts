// What a file that is not a CEL export looks like, from its first bytes: the one sentence a user needs
// ("gzip: decompress first", "a JSON array, not JSON Lines") instead of a rejected line per line or, worse,
// an empty replay that exits 0. Pure: takes the bytes, returns the diagnosis or undefined (looks readable).

export type FileProblem = { kind: 'empty' | 'compressed' | 'utf16' | 'binary' | 'json-array' | 'pretty-json'; message: string };

const MAGIC: Array<{ bytes: number[]; name: string; tool: string }> = [
  { bytes: [0x1f, 0x8b], name: 'gzip', tool: 'gunzip' },
  { bytes: [0x50, 0x4b, 0x03, 0x04], name: 'zip', tool: 'unzip' },
  { bytes: [0x42, 0x5a, 0x68], name: 'bzip2', tool: 'bunzip2' },
  { bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], name: 'xz', tool: 'unxz' },
  { bytes: [0x28, 0xb5, 0x2f, 0xfd], name: 'zstd', tool: 'unzstd' },
];

function startsWith(head: Uint8Array, bytes: readonly number[]): boolean {
  return head.length >= bytes.length && bytes.every((b, i) => head[i] === b);
}

/** Diagnoses the first bytes of a file (4 KiB are plenty). */
export function sniffFile(head: Uint8Array): FileProblem | undefined {
  if (head.length === 0) return { kind: 'empty', message: 'the file is empty' };
  for (const m of MAGIC) {
    if (startsWith(head, m.bytes)) return { kind: 'compressed', message: `${m.name}-compressed: decompress it first (${m.tool})` };
  }
  if (startsWith(head, [0xff, 0xfe]) || startsWith(head, [0xfe, 0xff]) || looksUtf16(head)) {
    return { kind: 'utf16', message: 'UTF-16 text: convert it to UTF-8 first (e.g. iconv -f UTF-16 -t UTF-8)' };
  }
  let control = 0;
  for (const b of head) if (b === 0 || (b < 32 && b !== 9 && b !== 10 && b !== 13) || b === 127) control++;
  if (control > 0 && control * 20 > head.length) return { kind: 'binary', message: 'binary data, not CEL text (JSON Lines or CSV)' };
  const text = Buffer.from(head).toString('utf8').replace(/^\ufeff/, '');
  const first = text.trimStart()[0];
  if (first === '[') return { kind: 'json-array', message: 'a JSON array, not JSON Lines: write one JSON object per line (e.g. jq -c \'.[]\')' };
  const firstLine = text.split('\n', 1)[0]!.trim();
  if (firstLine === '{') return { kind: 'pretty-json', message: 'pretty-printed JSON (an object spread over several lines), not JSON Lines: write one JSON object per line (e.g. jq -c .)' };
  return undefined;
}

/** UTF-16 without a BOM: ASCII text with a NUL after (or before) every character. */
function looksUtf16(head: Uint8Array): boolean {
  const n = Math.min(head.length, 512) & ~1;
  if (n < 8) return false;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < n; i += 2) {
    if (head[i] === 0) evenNul++;
    if (head[i + 1] === 0) oddNul++;
  }
  const pairs = n / 2;
  return (oddNul > pairs * 0.6 && evenNul < pairs * 0.1) || (evenNul > pairs * 0.6 && oddNul < pairs * 0.1);
}
