import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { deliveryConfigFromEnv } from './config.ts';
import { buildDeps, type Deps } from './deps.ts';
import { emfMetrics } from './metrics.ts';
import type { LambdaRuntime } from './lambda.ts';
import { AwsSecretStore } from '../adapters/aws-secrets.ts';
import { EventBridgeOperationalEvents } from '../adapters/eventbridge-events.ts';

function required(env: Record<string, string | undefined>, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** The Lambda functions' wiring, from the environment the stack sets; logs and metrics go through the function's Powertools. */
export function depsFromEnv(
  runtime: Pick<LambdaRuntime, 'logger' | 'metrics'>,
  env: Record<string, string | undefined> = process.env,
): Deps {
  const queueUrls = {
    fast: required(env, 'QUEUE_URL'),
    slow: required(env, 'SLOW_QUEUE_URL'),
    deadLetter: required(env, 'DLQ_URL'),
  };
  if (!runtime.metrics) throw new Error('STACK_NAME is not set');
  return buildDeps({
    dynamoDb: new DynamoDBClient({}),
    tableName: required(env, 'TABLE_NAME'),
    sqs: new SQSClient({}),
    queueUrls,
    redrive: { moveTask: true, queueArn: env.QUEUE_ARN, deadLetterArn: env.DLQ_ARN },
    secretStore: new AwsSecretStore(new SecretsManagerClient({})),
    secretsPrefix: required(env, 'SECRETS_PREFIX'),
    config: deliveryConfigFromEnv(env),
    logger: runtime.logger,
    metrics: emfMetrics(runtime.metrics),
    events: new EventBridgeOperationalEvents(new EventBridgeClient({})),
    sts: new STSClient({}),
  });
}
