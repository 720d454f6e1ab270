// Masks secrets in a settings object for printing: every value under a key that names a secret
// (isSecretKey, core/log.ts: password, token, secret, webhook_url, ...) becomes "***" ('' stays '').
import { isSecretKey } from '../log.js';

export const MASK = '***';

export function maskSecrets<T>(value: T): T {
  return mask(value) as T;
}

function mask(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(mask);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) && v !== '' && v !== null ? MASK : mask(v);
  return out;
}
