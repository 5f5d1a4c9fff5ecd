import { LogFormatter, LogItem, Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { LogAttributes, LogLevel, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import type { LogFn, Logger } from '../domain/ports.ts';

/**
 * Structured JSON logs, one line each, written by Powertools' Logger: on Lambda its middleware
 * (`injectLambdaContext`) adds the request id to every line. The lines keep the shape they had
 * with pino (`level` 10–60, `time`, `name`, `msg`), which the error-log metric filter
 * (`$.level >= 50`), the bench and the tests read. Credentials never reach them: request headers
 * are not logged, and the REDACTED keys are censored in case.
 */

/** The calls the code makes, pino's shape: `logger.info({ webhook_id }, 'webhook delivered')`. */
export type { Logger } from '../domain/ports.ts';

/** Where JSON lines go instead of stdout: a test's capture, or the bench counting the bytes a delivery logs. */
export interface LogDestination {
  write(line: string): void;
}

/** pino's numeric levels, which the error-log metric filter and the runbook's searches (docs/operations.md) use. */
const PINO_LEVELS: Record<string, number> = { TRACE: 10, DEBUG: 20, INFO: 30, WARN: 40, ERROR: 50, CRITICAL: 60 };
/** The levels LOG_LEVEL takes (shared/runtime/settings.ts), lowest first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
const POWERTOOLS_LEVELS: Record<string, LogLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'CRITICAL',
  silent: 'SILENT',
} satisfies Record<(typeof LOG_LEVELS)[number], LogLevel>;

/** Censored wherever they appear at the top of a line's fields, and in its `headers`. */
const REDACTED = new Set(['authorization', 'api_key', 'token', 'hmac_key', 'privateKeyPem']);
const CENSOR = '[redacted]';

function redact(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) out[key] = REDACTED.has(key) ? CENSOR : value;
  const headers = out.headers;
  if (typeof headers === 'object' && headers !== null && 'authorization' in headers)
    out.headers = { ...headers, authorization: CENSOR };
  return out;
}

/** Errors as pino wrote them: type, message and stack (JSON.stringify would give `{}`), and the error they wrap. */
function serialize(_key: string, value: unknown): unknown {
  if (value instanceof Error)
    return {
      ...value,
      type: value.name,
      message: value.message,
      stack: value.stack,
      ...(value.cause !== undefined ? { cause: value.cause } : {}),
    };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** The pino-shaped line, plus the Lambda context's request id and function name once the middleware has set them. */
class PinoShapedFormatter extends LogFormatter {
  readonly #name: string;

  constructor(name: string) {
    super();
    this.#name = name;
  }

  formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const { lambdaContext } = attributes;
    return new LogItem({
      attributes: {
        level: PINO_LEVELS[attributes.logLevel] ?? 30,
        time: attributes.timestamp.getTime(),
        name: this.#name,
        ...(lambdaContext
          ? {
              function_name: lambdaContext.functionName,
              function_request_id: lambdaContext.awsRequestId,
              cold_start: lambdaContext.coldStart,
            }
          : {}),
        ...(attributes.xRayTraceId ? { xray_trace_id: attributes.xRayTraceId } : {}),
        ...additional,
        msg: attributes.message,
      },
    });
  }
}

/** Powertools' Logger writing every level to one destination (stdout by default, as pino did), not stderr for warnings and errors. */
class DestinationLogger extends PowertoolsLogger {
  readonly #destination: LogDestination;

  constructor(options: ConstructorParameters<typeof PowertoolsLogger>[0], destination: LogDestination) {
    super(options);
    this.#destination = destination;
  }

  // Not `log.prepareForPrint()`: it drops fields that are null or empty (`"error":null`), which pino kept and readers rely on.
  protected override printLog(_level: number, log: LogItem): void {
    this.#destination.write(`${JSON.stringify(log.getAttributes(), serialize)}\n`);
  }
}

const stdout: LogDestination = { write: (line) => void process.stdout.write(line) };

/** A logger and the Powertools instance behind it, which the Lambda middleware needs. */
export interface RuntimeLogger extends Logger {
  readonly powertools: PowertoolsLogger;
}

export function createLogger(
  level: string,
  name = 'lago-webhooks',
  destination: LogDestination = stdout,
): RuntimeLogger {
  const powertools = new DestinationLogger(
    {
      serviceName: name,
      logLevel: POWERTOOLS_LEVELS[level.toLowerCase()] ?? 'INFO',
      logFormatter: new PinoShapedFormatter(name),
    },
    destination,
  );
  const at =
    (method: 'debug' | 'info' | 'warn' | 'error'): LogFn =>
    (objOrMsg: object | string, msg?: string) => {
      if (typeof objOrMsg === 'string') return powertools[method](objOrMsg);
      const fields = redact(objOrMsg as Record<string, unknown>);
      // As pino: an error logged without a message is described by its own.
      const message = msg ?? (fields.err instanceof Error ? fields.err.message : '');
      powertools[method](message, fields);
    };
  return { powertools, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
