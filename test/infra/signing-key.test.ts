// Covers functions/signing-key.ts, the custom resources' handler that creates the deployment's RSA key and the key rings made from it: the exact Secrets Manager calls for each CloudFormation request, and what it returns (or throws) to CDK's provider framework, which answers CloudFormation; the key is never in the result nor in the logs.
import { createPrivateKey } from 'node:crypto';
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
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createSigningKeyHandler, type SigningKeyEvent } from '#functions/signing-key.ts';
import { createLogger } from '#shared/runtime/logger.ts';
import { generateSigningKey } from '#shared/domain/delivery/signing.ts';
import { initialKeyring, type DerivedKeySecret } from '#shared/domain/keys/provisioning.ts';
import { keyId, publicPem } from '#shared/domain/keys/signing-keys.ts';

const NAME = 'LagoWebhooks/signing-key';
const ARN = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${NAME}-AbCdEf`;

const secrets = mockClient(SecretsManagerClient);
/** Every line the handler logs, at every level. */
let logLines: string[] = [];
const handler = createSigningKeyHandler(
  new SecretsManagerClient({ region: 'eu-west-1' }),
  createLogger('debug', 'signing-key', { write: (line) => void logLines.push(line) }),
);

beforeEach(() => {
  secrets.reset();
  logLines = [];
});

const common = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:framework-onEvent',
  ResponseURL: 'https://cloudformation-custom-resource-response.example/response?X-Amz-Signature=abc',
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/LagoWebhooks/1',
  RequestId: 'request-1',
  LogicalResourceId: 'SigningKey',
  ResourceType: 'Custom::WebhookSigningKey',
};
const create = (): SigningKeyEvent => ({
  ...common,
  RequestType: 'Create',
  ResourceProperties: { ServiceToken: common.ServiceToken, SecretName: NAME },
});
const update = (name: string, oldName = NAME, physicalResourceId = oldName): SigningKeyEvent => ({
  ...common,
  RequestType: 'Update',
  PhysicalResourceId: physicalResourceId,
  ResourceProperties: { ServiceToken: common.ServiceToken, SecretName: name },
  OldResourceProperties: { SecretName: oldName },
});
const remove = (physicalResourceId = NAME): SigningKeyEvent => ({
  ...common,
  RequestType: 'Delete',
  PhysicalResourceId: physicalResourceId,
  ResourceProperties: { ServiceToken: common.ServiceToken, SecretName: NAME },
});

/** Every call the handler made, in order, as command name and input. */
const calls = () => secrets.calls().map((call) => [call.args[0].constructor.name, call.args[0].input]);

describe('Create', () => {
  it('stores a new 2048-bit RSA key (PKCS#8 PEM) and returns the secret ARN, never the key, which no log line carries either', async () => {
    secrets.on(CreateSecretCommand).resolves({ ARN, Name: NAME });
    const result = await handler(create());

    expect(calls()).toEqual([
      ['CreateSecretCommand', { Name: NAME, SecretString: expect.any(String), Description: expect.any(String) }],
    ]);
    const pem = secrets.commandCalls(CreateSecretCommand)[0]!.args[0].input.SecretString!;
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const key = createPrivateKey(pem);
    expect(key.asymmetricKeyType).toBe('rsa');
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);

    expect(result).toEqual({ PhysicalResourceId: NAME, Data: { SecretArn: ARN } });
    expect(logLines.length).toBeGreaterThan(0);
    const body = pem.split('\n')[1]!;
    for (const text of [JSON.stringify(result), ...logLines]) {
      expect(text).not.toContain('PRIVATE KEY');
      expect(text).not.toContain(body);
    }
  });

  it('generates a different key on every deployment', async () => {
    secrets.on(CreateSecretCommand).resolves({ ARN });
    await handler(create());
    await handler(create());
    const [first, second] = secrets.commandCalls(CreateSecretCommand).map((call) => call.args[0].input.SecretString);
    expect(first).not.toBe(second);
  });

  it('adopts a key kept from an earlier stack without replacing it, under a physical id that marks it adopted', async () => {
    secrets.on(CreateSecretCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));
    secrets.on(DescribeSecretCommand).resolves({ ARN, Name: NAME });
    const result = await handler(create());

    expect(calls()).toEqual([
      ['CreateSecretCommand', expect.objectContaining({ Name: NAME })],
      ['DescribeSecretCommand', { SecretId: NAME }],
    ]);
    expect(result).toEqual({ PhysicalResourceId: `adopted:${NAME}`, Data: { SecretArn: ARN } });
  });

  it('restores and adopts a key scheduled for deletion under the same name, which Secrets Manager would not let it create', async () => {
    const deletedAt = new Date('2026-11-20T10:00:00Z');
    secrets.on(CreateSecretCommand).rejects(
      new InvalidRequestException({
        message: "You can't create this secret because a secret with this name is already scheduled for deletion.",
        $metadata: {},
      }),
    );
    secrets
      .on(DescribeSecretCommand)
      .resolvesOnce({ ARN, Name: NAME, DeletedDate: deletedAt })
      .resolves({ ARN, Name: NAME });
    secrets.on(RestoreSecretCommand).resolves({ ARN, Name: NAME });
    const result = await handler(create());

    expect(calls()).toEqual([
      ['CreateSecretCommand', expect.objectContaining({ Name: NAME })],
      ['DescribeSecretCommand', { SecretId: NAME }],
      ['RestoreSecretCommand', { SecretId: NAME }],
      ['DescribeSecretCommand', { SecretId: NAME }],
    ]);
    expect(result).toEqual({ PhysicalResourceId: `adopted:${NAME}`, Data: { SecretArn: ARN } });
    expect(logLines.map((line) => JSON.parse(line) as { level: number; msg: string })).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: 'signing key was scheduled for deletion; restored and kept as it is',
        deleted_at: deletedAt.toISOString(),
      }),
    );
  });

  it('throws any other refusal of the create as it is, without restoring anything', async () => {
    secrets.on(CreateSecretCommand).rejects(new InvalidRequestException({ message: 'bad request', $metadata: {} }));
    secrets.on(DescribeSecretCommand).resolves({ ARN, Name: NAME });
    await expect(handler(create())).rejects.toThrow('bad request');
    expect(secrets.commandCalls(RestoreSecretCommand)).toHaveLength(0);
  });

  it('throws the error (the framework answers FAILED with it) and logs it at error level, without the key', async () => {
    secrets.on(CreateSecretCommand).rejects(
      new SecretsManagerServiceException({
        name: 'AccessDeniedException',
        message: 'not allowed',
        $fault: 'client',
        $metadata: {},
      }),
    );
    await expect(handler(create())).rejects.toThrow('not allowed');

    const errors = logLines
      .map((line) => JSON.parse(line) as { level: number; msg: string })
      .filter((line) => line.level >= 50);
    expect(errors).toEqual([expect.objectContaining({ msg: 'signing key request failed' })]);
    for (const line of logLines) expect(line).not.toContain('PRIVATE KEY');
  });
});

describe('Update', () => {
  it('keeps the key when the name is unchanged', async () => {
    secrets.on(DescribeSecretCommand).resolves({ ARN, Name: NAME });
    const result = await handler(update(NAME));

    expect(calls()).toEqual([['DescribeSecretCommand', { SecretId: NAME }]]);
    expect(result).toEqual({ PhysicalResourceId: NAME, Data: { SecretArn: ARN } });
  });

  it('keeps an adopted key adopted: the physical id does not change, so no replacement follows', async () => {
    secrets.on(DescribeSecretCommand).resolves({ ARN, Name: NAME });
    const result = await handler(update(NAME, NAME, `adopted:${NAME}`));

    expect(result).toEqual({ PhysicalResourceId: `adopted:${NAME}`, Data: { SecretArn: ARN } });
  });

  it('creates a key under a new name, with a new physical id so CloudFormation removes the old resource', async () => {
    const renamed = 'Other/signing-key';
    secrets.on(CreateSecretCommand).resolves({ ARN: `${ARN}-2` });
    const result = await handler(update(renamed));

    expect(calls()).toEqual([['CreateSecretCommand', expect.objectContaining({ Name: renamed })]]);
    expect(result).toEqual({ PhysicalResourceId: renamed, Data: { SecretArn: `${ARN}-2` } });
  });

  it('throws when the key cannot be described', async () => {
    secrets.on(DescribeSecretCommand).rejects(new ResourceNotFoundException({ message: 'gone', $metadata: {} }));
    await expect(handler(update(NAME))).rejects.toThrow('gone');
  });
});

describe('Delete', () => {
  it('deletes the secret without a recovery window, keeping the physical id', async () => {
    secrets.on(DeleteSecretCommand).resolves({ ARN });
    const result = await handler(remove());

    expect(calls()).toEqual([['DeleteSecretCommand', { SecretId: NAME, ForceDeleteWithoutRecovery: true }]]);
    expect(result).toEqual({ PhysicalResourceId: NAME, Data: {} });
  });

  it('succeeds when the secret is already gone', async () => {
    secrets.on(DeleteSecretCommand).rejects(new ResourceNotFoundException({ message: 'gone', $metadata: {} }));
    const result = await handler(remove());

    expect(result).toEqual({ PhysicalResourceId: NAME, Data: {} });
  });

  it('throws when the delete is refused', async () => {
    secrets.on(DeleteSecretCommand).rejects(
      new SecretsManagerServiceException({
        name: 'AccessDeniedException',
        message: 'not allowed',
        $fault: 'client',
        $metadata: {},
      }),
    );
    await expect(handler(remove())).rejects.toThrow('not allowed');
  });

  it('never deletes an adopted key (the rollback of a failed first deploy keeps the key an earlier stack left)', async () => {
    const result = await handler(remove(`adopted:${NAME}`));

    expect(calls()).toEqual([]);
    expect(result).toEqual({ PhysicalResourceId: `adopted:${NAME}`, Data: {} });
  });

  it('touches nothing under another physical id (a create that failed)', async () => {
    const failed = 'AWSCDK::CustomResourceProviderFramework::CREATE_FAILED';
    const result = await handler(remove(failed));

    expect(calls()).toEqual([]);
    expect(result).toEqual({ PhysicalResourceId: failed, Data: {} });
  });
});

describe('the key rings (Custom::WebhookKeyring)', () => {
  const signingKey = generateSigningKey().privateKeyPem;
  const ring = (keyring: DerivedKeySecret, requestType: 'Create' | 'Delete' = 'Create'): SigningKeyEvent => {
    const properties = {
      ServiceToken: common.ServiceToken,
      SecretName: `LagoWebhooks/keys/${keyring}`,
      SigningKeySecretName: NAME,
      Keyring: keyring,
    };
    return requestType === 'Create'
      ? { ...common, ResourceType: 'Custom::WebhookKeyring', RequestType: 'Create', ResourceProperties: properties }
      : {
          ...common,
          ResourceType: 'Custom::WebhookKeyring',
          RequestType: 'Delete',
          PhysicalResourceId: properties.SecretName,
          ResourceProperties: properties,
        };
  };
  const ringArn = (keyring: string) =>
    `arn:aws:secretsmanager:eu-west-1:123456789012:secret:LagoWebhooks/keys/${keyring}-XyZ123`;

  it('make each ring from the signing key: the public keys, and HMAC roots and seal keys whose legacy versions are what earlier revisions derived; no key in the result or the logs', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: signingKey });
    secrets
      .on(CreateSecretCommand)
      .callsFake((input: { Name: string }) => ({ ARN: ringArn(input.Name.split('/').pop()!) }));
    const results = [];
    for (const keyring of ['signing-public', 'hmac-root', 'seal'] as const) results.push(await handler(ring(keyring)));

    expect(calls()).toEqual(
      (['signing-public', 'hmac-root', 'seal'] as const).flatMap((keyring) => [
        ['GetSecretValueCommand', { SecretId: NAME }],
        [
          'CreateSecretCommand',
          { Name: `LagoWebhooks/keys/${keyring}`, SecretString: expect.any(String), Description: expect.any(String) },
        ],
      ]),
    );
    const created = secrets
      .commandCalls(CreateSecretCommand)
      .map((call) => JSON.parse(call.args[0].input.SecretString!));
    expect(created[0]).toEqual({ keys: [{ version: keyId(signingKey), key: publicPem(signingKey) }] });
    expect(created[1].keys.map((k: { version: string }) => k.version)).toEqual(['v0', 'v1']);
    expect(created[1].keys[0].key).toBe(initialKeyring('hmac-root', signingKey).versions[0]!.key);
    expect(created[2].keys.map((k: { version: string }) => k.version)).toEqual([
      'legacy-tokens',
      'legacy-headers',
      'v1',
    ]);
    expect(results).toEqual(
      (['signing-public', 'hmac-root', 'seal'] as const).map((keyring) => ({
        PhysicalResourceId: `LagoWebhooks/keys/${keyring}`,
        Data: { SecretArn: ringArn(keyring) },
      })),
    );
    const body = signingKey.split('\n')[1]!;
    for (const text of [JSON.stringify(results), ...logLines]) {
      expect(text).not.toContain('PRIVATE KEY');
      expect(text).not.toContain(body);
      for (const ringText of secrets.commandCalls(CreateSecretCommand).map((c) => c.args[0].input.SecretString!))
        for (const { key } of JSON.parse(ringText).keys as { key: string }[]) expect(text).not.toContain(key);
    }
  });

  it('adopt a ring an earlier stack kept, as it is (rotated versions included)', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: signingKey });
    secrets.on(CreateSecretCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));
    secrets.on(DescribeSecretCommand).resolves({ ARN: ringArn('seal') });
    expect(await handler(ring('seal'))).toEqual({
      PhysicalResourceId: 'adopted:LagoWebhooks/keys/seal',
      Data: { SecretArn: ringArn('seal') },
    });
  });

  it('delete the ring they made, and never an adopted one', async () => {
    secrets.on(DeleteSecretCommand).resolves({});
    await handler(ring('hmac-root', 'Delete'));
    expect(calls()).toEqual([
      ['DeleteSecretCommand', { SecretId: 'LagoWebhooks/keys/hmac-root', ForceDeleteWithoutRecovery: true }],
    ]);
  });
});
