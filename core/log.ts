// The one pino logger factory. Secrets never reach logs: every logger redacts the known secret keys.
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Keys whose values are never logged, wherever they appear (up to three levels deep). */
export const SECRET_KEYS = ['password', 'secret', 'token', 'access_token', 'refresh_token', 'webhook_url', 'authorization', 'client_secret'];

/**
 * Whether a key (in settings, pack settings, log data) holds a secret: one of SECRET_KEYS, or any name
 * containing password, passwd, secret or token (`mariadb_password`, `api_token`). Printers of settings
 * mask these (core/settings maskSecrets); the logger redacts SECRET_KEYS by path.
 */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase();
  return SECRET_KEYS.includes(k) || /pass(word|wd)|secret|token|api_?key/.test(k);
}

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const paths = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`]);
  return pino(
    { level: options.level ?? process.env.CALLHOOK_LOG_LEVEL ?? 'info', redact: { paths, censor: '[redacted]' }, base: undefined },
    options.destination ?? pino.destination(2),
  );
}
