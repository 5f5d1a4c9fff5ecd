import { randomUUID } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { RuntimeLogger } from './logger.ts';

/**
 * What Lambda would pass a function named `functionName`: a fresh request id each call, and the
 * time left of an invocation as long as Lambda allows (15 minutes), so middy's early timeout never
 * cuts a local invocation short: locally, as before, nothing does.
 */
function localContext(functionName: string): Context {
  const deadline = Date.now() + 15 * 60_000;
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
 * The store Lambda's runtime keeps each invocation's context in. The local service runs many
 * invocations side by side in one process, as Lambda Managed Instances do; with
 * AWS_LAMBDA_MAX_CONCURRENCY set, Powertools reads the context from this store (AsyncLocalStorage),
 * so no log line carries another invocation's request id.
 */
let invokeStore: Promise<InvokeStoreBase> | undefined;
function sideBySideInvocations(): Promise<InvokeStoreBase> {
  // The variable only once the store exists: Powertools throws if it is set and the store is not.
  return (invokeStore ??= InvokeStore.getInstanceAsync(true).then((store) => {
    process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= '1000';
    return store;
  }));
}

/**
 * A handler as the local service runs it: called with the event alone (by the gateway and the
 * pollers), given a local Lambda context, with the request id on its log lines as on Lambda. No
 * tracer (there is no X-Ray here) and no metrics middleware (local metrics are off).
 */
export function localHandler<E, R>(
  functionName: string,
  handler: (event: E, context: Context) => Promise<R>,
  logger: RuntimeLogger,
): (event: E) => Promise<R> {
  const observed = middy<E, R>().use(injectLambdaContext(logger.powertools)).handler(handler);
  return async (event) => {
    const store = await sideBySideInvocations();
    const context = localContext(functionName);
    return store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: context.awsRequestId }, () =>
      observed(event, context),
    );
  };
}
