import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidRequestException,
  ResourceExistsException,
  ResourceNotFoundException,
  RestoreSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { createLogger, type Logger } from '#shared/runtime/logger.ts';
import { lambdaHandler } from '#shared/runtime/lambda.ts';
import { generateSigningKey } from '#shared/domain/delivery/signing.ts';
import { serializeKeyring } from '#shared/domain/keys/keyring.ts';
import { initialKeyring, type DerivedKeySecret } from '#shared/domain/keys/provisioning.ts';

/**
 * The CloudFormation custom resources behind the deployment's keys (docs/security.md#key-hierarchy). Each key is
 * generated here, at deploy time, and goes straight into Secrets Manager: it never appears in the template, in the
 * result (and so the response to CloudFormation), or in the logs. infra/constructs/signing-key.ts puts CDK's
 * provider framework in front of it: the framework speaks CloudFormation's protocol.
 *
 * `Custom::WebhookSigningKey` stores a new RSA key under `SecretName`. `Custom::WebhookKeyring` stores the first ring
 * of a key made from it (`Keyring`: the public signing keys, the HMAC roots, the seal keys; shared/domain/keys/
 * provisioning.ts), reading the signing key under `SigningKeySecretName`: the legacy versions of the HMAC roots and
 * seal keys are what earlier revisions derived from it, so every token and sealed value stays valid.
 *
 * Create: a secret already there (kept from an earlier stack) is adopted as it is, so receivers keep verifying
 * JWT signatures and tokens across re-deployments, and one scheduled for deletion is restored first. Update: a new name creates a new secret (CloudFormation then
 * deletes the old resource); otherwise nothing changes (rotation is the operator's, `npm run cli -- keys`).
 * Delete: deletes the secret without a recovery window, so the same stack can be deployed again.
 * CloudFormation sends it with the DESTROY removal policy, and with the default
 * (RETAIN_ON_UPDATE_OR_DELETE) only when the stack's first create rolls back. A secret this resource
 * adopted rather than created is never deleted: the rollback of a failed first deploy must not
 * take away the keys an earlier stack left for its receivers.
 */

interface SigningKeyProperties {
  SecretName: string;
}

interface KeyringProperties {
  SecretName: string;
  SigningKeySecretName: string;
  Keyring: DerivedKeySecret;
}

export type SigningKeyEvent = CloudFormationCustomResourceEvent<SigningKeyProperties | KeyringProperties>;

/** The physical id of an adopted key: a delete recognises it and leaves the secret alone. */
const ADOPTED = 'adopted:';

interface Outcome {
  physicalResourceId: string;
  secretArn?: string;
}

/** What a resource stores: its secret's value, made only when the secret does not exist yet, and a description. */
interface KeySecret {
  name: string;
  description: string;
  value: () => Promise<string>;
}

const DESCRIPTIONS: Record<DerivedKeySecret, string> = {
  'signing-public': 'Public keys (SPKI PEM) of the webhook JWT signing keys, published by the API',
  'hmac-root': "Versioned roots of organizations' webhook HMAC tokens",
  seal: 'Versioned keys sealing custom header values and older organization tokens',
};

function keySecret(client: SecretsManagerClient, properties: SigningKeyProperties | KeyringProperties): KeySecret {
  if (!('Keyring' in properties))
    return {
      name: properties.SecretName,
      description: 'RSA private key (PKCS#8 PEM) that signs Lago JWT webhook signatures',
      value: async () => generateSigningKey().privateKeyPem,
    };
  return {
    name: properties.SecretName,
    description: DESCRIPTIONS[properties.Keyring],
    value: async () => {
      const { SecretString } = await client.send(
        new GetSecretValueCommand({ SecretId: properties.SigningKeySecretName }),
      );
      if (!SecretString) throw new Error(`the signing key ${properties.SigningKeySecretName} has no value`);
      return serializeKeyring(initialKeyring(properties.Keyring, SecretString));
    },
  };
}

async function createKey(client: SecretsManagerClient, logger: Logger, key: KeySecret): Promise<Outcome> {
  const { name } = key;
  try {
    const { ARN } = await client.send(
      new CreateSecretCommand({ Name: name, SecretString: await key.value(), Description: key.description }),
    );
    logger.info({ secret: name }, 'key created');
    return { physicalResourceId: name, secretArn: ARN };
  } catch (error) {
    if (error instanceof InvalidRequestException && (await restoreIfDeleted(client, logger, name)))
      return describeKey(client, name, `${ADOPTED}${name}`);
    if (!(error instanceof ResourceExistsException)) throw error;
    logger.info({ secret: name }, 'key exists; kept as it is');
    return describeKey(client, name, `${ADOPTED}${name}`);
  }
}

/**
 * Secrets Manager refuses to create a secret under the name of one scheduled for deletion (a key a
 * destroyed stack left, within its recovery window). That key is what receivers verify: it is
 * restored and adopted, as a kept key would be. False when the name is not scheduled for deletion.
 */
async function restoreIfDeleted(client: SecretsManagerClient, logger: Logger, name: string): Promise<boolean> {
  const { DeletedDate } = await client.send(new DescribeSecretCommand({ SecretId: name }));
  if (DeletedDate === undefined) return false;
  await client.send(new RestoreSecretCommand({ SecretId: name }));
  logger.warn(
    { secret: name, deleted_at: DeletedDate.toISOString() },
    'signing key was scheduled for deletion; restored and kept as it is',
  );
  return true;
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
      logger.info({ secret: name }, 'key deleted');
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }
  return { physicalResourceId: event.PhysicalResourceId };
}

async function apply(client: SecretsManagerClient, logger: Logger, event: SigningKeyEvent): Promise<Outcome> {
  switch (event.RequestType) {
    case 'Create':
      return createKey(client, logger, keySecret(client, event.ResourceProperties));
    case 'Update':
      return event.ResourceProperties.SecretName === event.OldResourceProperties.SecretName
        ? describeKey(client, event.ResourceProperties.SecretName, event.PhysicalResourceId)
        : createKey(client, logger, keySecret(client, event.ResourceProperties));
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
