import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout. Anything that could hold a secret is redacted, wherever it appears. */
export function createLogger(level: string = process.env.SWITCHYARD_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { service: 'switchyard' },
    redact: {
      paths: ['authorization', 'apiKey', 'secret', 'key', 'adminToken', '*.authorization', '*.apiKey', '*.secret', '*.adminToken', 'headers["x-api-key"]', '*.headers["x-api-key"]', '*.headers.authorization'],
      censor: '[redacted]',
    },
  });
}
