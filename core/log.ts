// The one pino logger factory. Secrets never reach logs: every logger redacts the known secret keys.
import { createRequire } from 'node:module';
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Keys whose values are never logged, wherever they appear (up to four levels deep). */
export const SECRET_KEYS = [
  'password', 'secret', 'token', 'tokens', 'access_token', 'refresh_token', 'webhook_url', 'authorization', 'client_secret',
  'password_hash', 'cookie', 'set-cookie', 'x-csrf-token', 'csrf',
];

/**
 * Whether a key (in settings, pack settings, log data) holds a secret: one of SECRET_KEYS, or any name
 * containing password, passwd, secret or token (`mariadb_password`, `api_token`). Printers of settings
 * mask these (core/settings maskSecrets); the logger redacts SECRET_KEYS by path.
 */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase();
  return SECRET_KEYS.includes(k) || /pass(word|wd)|secret|token|api_?key/.test(k);
}

/** pino-pretty is loaded only for a terminal (it is not needed for JSON lines). */
function prettyStream(): DestinationStream {
  const require = createRequire(import.meta.url);
  const pretty = require('pino-pretty') as (o: object) => DestinationStream;
  return pretty({ destination: 2, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
}

/**
 * The connector's logger: JSON lines on stderr, or readable lines when stderr is a terminal
 * (CALLHOOK_LOG_FORMAT=json|pretty forces one). Secret keys are redacted by path in both.
 */
export function createLogger(options: { level?: string; destination?: DestinationStream; pretty?: boolean } = {}): Logger {
  const paths = SECRET_KEYS.flatMap((key) => {
    const k = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
    const join = (prefix: string): string => (k.startsWith('[') ? `${prefix}${k}` : `${prefix}.${k}`);
    return [k.startsWith('[') ? `*${k}` : k, join('*'), join('*.*'), join('*.*.*'), join('*.*.*.*')].filter((p, i) => !(i === 0 && p.startsWith('*[')));
  });
  const format = process.env.CALLHOOK_LOG_FORMAT;
  const pretty = options.pretty ?? (format === 'pretty' || (format !== 'json' && process.stderr.isTTY === true));
  return pino(
    { level: options.level ?? process.env.CALLHOOK_LOG_LEVEL ?? 'info', redact: { paths, censor: '[redacted]' }, base: undefined },
    options.destination ?? (pretty ? prettyStream() : pino.destination(2)),
  );
}
