// Signed, expiring recording links: /recordings/<payload>.<mac>, payload = base64url of
// {"f": <folder key>, "p": <relative path>, "e": <expiry, unix seconds>}, mac = HMAC-SHA256 of the payload
// with recordings.link.secret. The link names a file only inside one of the server's folders; nothing in
// it can be changed without the key, and the mac is compared in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface LinkTarget {
  folder: string;
  path: string;
  expiresAt: number;
}

const b64 = (b: Buffer): string => b.toString('base64url');

export function signLink(secret: string, t: LinkTarget): string {
  const payload = b64(Buffer.from(JSON.stringify({ f: t.folder, p: t.path, e: t.expiresAt })));
  return `${payload}.${b64(createHmac('sha256', secret).update(payload).digest())}`;
}

export type Verified = { ok: true; target: LinkTarget } | { ok: false; status: 403 | 410; reason: string };

export function verifyLink(secret: string, token: string, nowSeconds: number): Verified {
  const dot = token.indexOf('.');
  if (dot <= 0) return { ok: false, status: 403, reason: 'not a recording link' };
  const payload = token.slice(0, dot);
  const mac = Buffer.from(token.slice(dot + 1), 'base64url');
  const want = createHmac('sha256', secret).update(payload).digest();
  if (mac.length !== want.length || !timingSafeEqual(mac, want)) return { ok: false, status: 403, reason: 'bad signature' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, status: 403, reason: 'bad payload' };
  }
  const p = parsed as { f?: unknown; p?: unknown; e?: unknown };
  if (typeof p.f !== 'string' || typeof p.p !== 'string' || typeof p.e !== 'number') return { ok: false, status: 403, reason: 'bad payload' };
  if (p.e < nowSeconds) return { ok: false, status: 410, reason: 'the link has expired' };
  return { ok: true, target: { folder: p.f, path: p.p, expiresAt: p.e } };
}
