import { pino, type DestinationStream, type Logger as PinoLogger, type LoggerOptions } from 'pino';

/** Structured JSON logs. Credentials never reach them: request headers are not logged, and these paths are redacted in case. */
export type Logger = Pick<PinoLogger, 'info' | 'warn' | 'error' | 'debug'>;

/** Where JSON lines go instead of stdout: a test's capture, or the bench counting the bytes a delivery logs. */
export type LogDestination = DestinationStream;

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', name = 'lago-webhooks', destination?: LogDestination): Logger {
  const options: LoggerOptions = {
    name,
    level,
    base: undefined,
    redact: { paths: ['authorization', 'headers.authorization', 'api_key', 'token', 'hmac_key', 'privateKeyPem'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
