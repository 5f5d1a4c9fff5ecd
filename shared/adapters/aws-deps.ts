import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { deliveryConfigFromEnv } from '../config.ts';
import type { Deps } from '../deps.ts';
import { createLogger } from '../logger.ts';
import { emfMetrics } from '../metrics.ts';
import { OrganizationTokens } from '../org-tokens.ts';
import { CachedSecrets } from '../secrets.ts';
import { AwsSecretStore } from './aws-secrets.ts';
import { DynamoDbStore } from './dynamodb-store.ts';
import { EventBridgeOperationalEvents } from './eventbridge-events.ts';
import { SqsDeadLetters, SqsDeliveryQueue } from './sqs-queue.ts';

function required(env: Record<string, string | undefined>, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** The Lambda functions' wiring, from the environment the stack sets. */
export function depsFromEnv(env: Record<string, string | undefined> = process.env): Deps {
  const queueUrl = required(env, 'QUEUE_URL');
  const deadLetterUrl = required(env, 'DLQ_URL');
  const sqs = new SQSClient({});
  const secretStore = new AwsSecretStore(new SecretsManagerClient({}));
  const store = new DynamoDbStore(new DynamoDBClient({}), required(env, 'TABLE_NAME'));
  const secrets = new CachedSecrets(secretStore);
  const secretsPrefix = required(env, 'SECRETS_PREFIX');
  const logger = createLogger();
  return {
    store,
    queue: new SqsDeliveryQueue(sqs, { fast: queueUrl, slow: required(env, 'SLOW_QUEUE_URL') }, deadLetterUrl),
    deadLetters: new SqsDeadLetters(sqs, { queueUrl, deadLetterUrl, moveTask: true, queueArn: env.QUEUE_ARN, deadLetterArn: env.DLQ_ARN }),
    secretStore,
    secrets,
    tokens: new OrganizationTokens({ store, secrets, secretStore, secretsPrefix, logger, now: Date.now }),
    secretsPrefix,
    config: deliveryConfigFromEnv(env),
    logger,
    metrics: emfMetrics(required(env, 'STACK_NAME')),
    now: Date.now,
    events: new EventBridgeOperationalEvents(new EventBridgeClient({})),
  };
}

/** Builds the wiring on first use, so importing a handler module has no side effect. */
export function lazy<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}
