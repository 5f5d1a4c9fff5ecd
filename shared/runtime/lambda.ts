import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { createLogger, type RuntimeLogger } from './logger.ts';
import { settingsFromEnv } from './settings.ts';
import { powertoolsMetrics } from './metrics.ts';

/** The Powertools instances of one Lambda function: its logger, its metrics and its tracer. */
export interface LambdaRuntime {
  logger: RuntimeLogger;
  /** Absent without STACK_NAME (the metrics' Stack dimension): a function that records metrics requires it. */
  metrics: PowertoolsMetrics | undefined;
  tracer: Tracer;
}

/** The function's Powertools, from the environment the stack sets. */
function lambdaRuntime(name: string): LambdaRuntime {
  const logger = createLogger(settingsFromEnv('delivery', process.env).logLevel, name);
  // Powertools' own notices (such as an invocation that recorded no metric) are routine: debug lines.
  const notices = {
    trace: () => {},
    debug: () => {},
    info: () => {},
    warn: (message: unknown) => logger.debug(String(message)),
    error: (message: unknown) => logger.error(String(message)),
  };
  const metrics = process.env.STACK_NAME ? powertoolsMetrics(process.env.STACK_NAME, notices) : undefined;
  // Outgoing HTTP is not instrumented: deliveries go through our own client (pinned DNS, SSRF checks), which patching must not change.
  return { logger, metrics, tracer: new Tracer({ serviceName: name, captureHTTPsRequests: false }) };
}

/**
 * A Lambda entry point: the handler `build` makes from the function's runtime, under Powertools'
 * middlewares: X-Ray tracing of the invocation (without its response, which may carry HMAC tokens
 * and keys), the Lambda context (request id) on every log line, and the invocation's metrics
 * flushed as EMF when it ends. Built on the first invocation, so importing a handler module
 * (locally, in tests) has no side effect.
 */
export function lambdaHandler<E, R>(
  build: (runtime: LambdaRuntime) => (event: E, context: Context) => Promise<R>,
  name = 'lago-webhooks',
): (event: E, context: Context) => Promise<R> {
  let instance: ((event: E, context: Context) => Promise<R>) | undefined;
  const make = () => {
    const runtime = lambdaRuntime(name);
    const handler = middy<E, R>()
      .use(captureLambdaHandler(runtime.tracer, { captureResponse: false }))
      .use(injectLambdaContext(runtime.logger.powertools));
    if (runtime.metrics) handler.use(logMetrics(runtime.metrics));
    return handler.handler(build(runtime));
  };
  return (event, context) => (instance ??= make())(event, context);
}
