import { depsFromEnv } from '#shared/runtime/aws-deps.ts';
import { lambdaHandler } from '#shared/runtime/lambda.ts';
import { webhookDeps, type Deps } from '#shared/runtime/deps.ts';
import { sweep } from '#shared/domain/webhooks/lifecycle.ts';

/** Runs every minute (EventBridge on AWS, a timer locally): sends the attempts that timers hold when they are nearly due, and no webhook stays pending or retrying past its schedule. */
export function createSweeperHandler(deps: Deps) {
  const webhooks = webhookDeps(deps);
  return async () => sweep(webhooks);
}

export const handler = lambdaHandler((runtime) => createSweeperHandler(depsFromEnv(runtime)));
