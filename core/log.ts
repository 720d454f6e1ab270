// The one pino logger factory. Secrets never reach logs: every logger redacts the known secret keys.
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Keys whose values are never logged, wherever they appear (two levels deep). */
export const SECRET_KEYS = ['password', 'secret', 'token', 'access_token', 'refresh_token', 'webhook_url', 'authorization', 'client_secret'];

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const paths = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);
  return pino(
    { level: options.level ?? process.env.CALLHOOK_LOG_LEVEL ?? 'info', redact: { paths, censor: '[redacted]' }, base: undefined },
    options.destination ?? pino.destination(2),
  );
}
