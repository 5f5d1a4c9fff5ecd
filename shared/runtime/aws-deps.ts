import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { deliveryConfigFromEnv } from './config.ts';
import type { Deps } from './deps.ts';
import { emfMetrics } from './metrics.ts';
import type { LambdaRuntime } from './lambda.ts';
import { OrganizationTokens } from '../domain/organizations/tokens.ts';
import { CachedSecrets } from '../domain/secrets.ts';
import { AwsSecretStore } from '../adapters/aws-secrets.ts';
import { DynamoDbStore } from '../adapters/dynamodb-store.ts';
import { EventBridgeOperationalEvents } from '../adapters/eventbridge-events.ts';
import { SqsDeadLetters, SqsDeliveryQueue } from '../adapters/sqs-queue.ts';

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
  const queueUrl = required(env, 'QUEUE_URL');
  const deadLetterUrl = required(env, 'DLQ_URL');
  const sqs = new SQSClient({});
  const secretStore = new AwsSecretStore(new SecretsManagerClient({}));
  const config = deliveryConfigFromEnv(env);
  const store = new DynamoDbStore(new DynamoDBClient({}), required(env, 'TABLE_NAME'), {
    retentionDays: config.webhookRetentionDays,
  });
  const secrets = new CachedSecrets(secretStore);
  const secretsPrefix = required(env, 'SECRETS_PREFIX');
  const { logger } = runtime;
  if (!runtime.metrics) throw new Error('STACK_NAME is not set');
  return {
    store,
    queue: new SqsDeliveryQueue(sqs, { fast: queueUrl, slow: required(env, 'SLOW_QUEUE_URL') }, deadLetterUrl),
    deadLetters: new SqsDeadLetters(sqs, {
      queueUrl,
      deadLetterUrl,
      moveTask: true,
      queueArn: env.QUEUE_ARN,
      deadLetterArn: env.DLQ_ARN,
    }),
    secretStore,
    secrets,
    tokens: new OrganizationTokens({ store, secrets, secretStore, secretsPrefix, logger, now: Date.now }),
    secretsPrefix,
    config,
    logger,
    metrics: emfMetrics(runtime.metrics),
    now: Date.now,
    events: new EventBridgeOperationalEvents(new EventBridgeClient({})),
  };
}
