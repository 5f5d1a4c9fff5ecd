import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { createLogger, type Logger } from '#shared/runtime/logger.ts';
import { lambdaHandler } from '#shared/runtime/lambda.ts';
import { generateSigningKey } from '#shared/domain/delivery/signing.ts';

/**
 * The CloudFormation custom resource behind the deployment's RSA signing key. The key is generated
 * here, at deploy time, and goes straight into Secrets Manager: it never appears in the template,
 * in the result (and so the response to CloudFormation), or in the logs. infra/constructs/signing-key.ts
 * puts CDK's provider framework in front of it: the framework speaks CloudFormation's protocol.
 *
 * Create: stores a new key under `SecretName`; a secret already there (kept from an earlier stack)
 * is adopted as it is, so receivers keep verifying JWT signatures across re-deployments.
 * Update: a new name creates a new key (CloudFormation then deletes the old resource); otherwise nothing changes.
 * Delete: deletes the secret without a recovery window, so the same stack can be deployed again.
 * CloudFormation sends it with the DESTROY removal policy, and with the default
 * (RETAIN_ON_UPDATE_OR_DELETE) only when the stack's first create rolls back. A key this resource
 * adopted rather than created is never deleted: the rollback of a failed first deploy must not
 * take away the key an earlier stack left for its receivers.
 */

interface SigningKeyProperties {
  SecretName: string;
}

export type SigningKeyEvent = CloudFormationCustomResourceEvent<SigningKeyProperties>;

/** The physical id of an adopted key: a delete recognises it and leaves the secret alone. */
const ADOPTED = 'adopted:';

interface Outcome {
  physicalResourceId: string;
  secretArn?: string;
}

async function createKey(client: SecretsManagerClient, logger: Logger, name: string): Promise<Outcome> {
  try {
    const { ARN } = await client.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: generateSigningKey().privateKeyPem,
        Description: 'RSA private key (PKCS#8 PEM) that signs Lago JWT webhook signatures',
      }),
    );
    logger.info({ secret: name }, 'signing key created');
    return { physicalResourceId: name, secretArn: ARN };
  } catch (error) {
    if (!(error instanceof ResourceExistsException)) throw error;
    logger.info({ secret: name }, 'signing key exists; kept as it is');
    return describeKey(client, name, `${ADOPTED}${name}`);
  }
}

async function describeKey(client: SecretsManagerClient, name: string, physicalResourceId: string): Promise<Outcome> {
  const { ARN } = await client.send(new DescribeSecretCommand({ SecretId: name }));
  return { physicalResourceId, secretArn: ARN };
}

async function deleteKey(
  client: SecretsManagerClient,
  logger: Logger,
  event: Extract<SigningKeyEvent, { RequestType: 'Delete' }>,
): Promise<Outcome> {
  const name = event.ResourceProperties.SecretName;
  // A failed create or an adopted key answers with another physical id: there is no secret of ours to remove then.
  if (event.PhysicalResourceId === name) {
    try {
      await client.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
      logger.info({ secret: name }, 'signing key deleted');
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }
  return { physicalResourceId: event.PhysicalResourceId };
}

async function apply(client: SecretsManagerClient, logger: Logger, event: SigningKeyEvent): Promise<Outcome> {
  switch (event.RequestType) {
    case 'Create':
      return createKey(client, logger, event.ResourceProperties.SecretName);
    case 'Update':
      return event.ResourceProperties.SecretName === event.OldResourceProperties.SecretName
        ? describeKey(client, event.ResourceProperties.SecretName, event.PhysicalResourceId)
        : createKey(client, logger, event.ResourceProperties.SecretName);
    case 'Delete':
      return deleteKey(client, logger, event);
  }
}

/**
 * What the handler returns to CDK's provider framework (aws-cdk-lib/custom-resources), which
 * answers CloudFormation on its pre-signed URL, with retries, and reports a thrown error as FAILED.
 * A create that failed gets a physical id of the framework's, whose delete it answers itself.
 */
interface SigningKeyResult {
  PhysicalResourceId: string;
  Data: { SecretArn?: string };
}

/** The handler behind `handler`, which lambdaHandler runs under middy with Powertools' middlewares (logger context, tracing). */
export function createSigningKeyHandler(
  client: SecretsManagerClient,
  logger: Logger = createLogger('info', 'signing-key'),
): (event: SigningKeyEvent) => Promise<SigningKeyResult> {
  return async (event) => {
    logger.info({ request: event.RequestType, resource: event.LogicalResourceId }, 'signing key request');
    try {
      const outcome = await apply(client, logger, event);
      return {
        PhysicalResourceId: outcome.physicalResourceId,
        Data: outcome.secretArn ? { SecretArn: outcome.secretArn } : {},
      };
    } catch (error) {
      logger.error({ err: error }, 'signing key request failed');
      throw error;
    }
  };
}

export const handler = lambdaHandler(
  (runtime) => createSigningKeyHandler(new SecretsManagerClient({}), runtime.logger),
  'signing-key',
);
