import { randomUUID } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { RuntimeLogger } from '../logger.ts';

/** What Lambda would pass a function named `functionName`: a fresh request id each call, and the time left of a 10-second invocation. */
function localContext(functionName: string, timeoutMs = 10_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * A handler as the local service runs it: called with the event alone (by the gateway and the
 * pollers), given a local Lambda context, with the request id on its log lines as on Lambda. No
 * tracer (there is no X-Ray here) and no metrics middleware (local metrics are off).
 */
export function localHandler<E, R>(functionName: string, handler: (event: E, context: Context) => Promise<R>, logger: RuntimeLogger): (event: E) => Promise<R> {
  const observed = middy<E, R>().use(injectLambdaContext(logger.powertools)).handler(handler);
  return (event) => observed(event, localContext(functionName));
}
