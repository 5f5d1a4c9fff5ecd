import { pino, type Logger as PinoLogger } from 'pino';

/** Structured JSON logs. Credentials never reach them: request headers are not logged, and these paths are redacted in case. */
export type Logger = Pick<PinoLogger, 'info' | 'warn' | 'error' | 'debug'>;

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', name = 'lago-webhooks'): Logger {
  return pino({
    name,
    level,
    base: undefined,
    redact: { paths: ['authorization', 'headers.authorization', 'api_key', 'token', 'hmac_key', 'privateKeyPem'], censor: '[redacted]' },
  });
}
