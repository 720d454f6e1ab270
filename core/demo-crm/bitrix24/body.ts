// Reading a request body the way Bitrix24's PHP front does: JSON or form parameters, a multipart file.
import type { IncomingMessage } from 'node:http';
import type { JsonValue } from '../../crm/types.js';
import { isObject, parsePhpQuery, type Params } from './params.js';

/** The whole body, or null when it exceeds `max` bytes. */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks)));
    req.on('error', () => resolve(Buffer.concat(chunks)));
  });
}

/** A POST body as parameters: JSON (an object, else nothing) or a form. An unreadable JSON body gives none, as in PHP. */
export function bodyParams(contentType: string, body: Buffer): Params {
  if (body.length === 0) return {};
  if (contentType.includes('application/json')) {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as JsonValue;
      return isObject(parsed) ? parsed : {};
    } catch {
      return {};
    }
  }
  if (contentType.includes('application/x-www-form-urlencoded') || contentType === '') return parsePhpQuery(body.toString('utf8'));
  return {};
}

/** The named file part of a multipart/form-data body, or null. */
export function multipartFile(contentType: string, body: Buffer, field: string): { filename: string; content: Buffer } | null {
  const b = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (b === undefined) return null;
  const delimiter = Buffer.from(`--${b}`);
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length + 2; // past the CRLF after the delimiter
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const part = body.subarray(start, next - 2); // without the CRLF before the next delimiter
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd >= 0) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const name = /name="([^"]*)"/i.exec(headers)?.[1];
      const filename = /filename="([^"]*)"/i.exec(headers)?.[1];
      if (name === field && filename !== undefined) return { filename, content: part.subarray(headerEnd + 4) };
    }
    at = next;
  }
  return null;
}
