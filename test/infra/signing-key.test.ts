// Covers functions/signing-key.ts, the custom resource that creates the deployment's RSA key: the exact Secrets Manager calls for each CloudFormation request, and the answer CloudFormation gets on its pre-signed URL (a real HTTP server on loopback).
import { createPrivateKey } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSigningKeyHandler, type SigningKeyEvent } from '#functions/signing-key.ts';
import { createLogger } from '#shared/runtime/logger.ts';

const NAME = 'LagoWebhooks/signing-key';
const ARN = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${NAME}-AbCdEf`;

interface Answer {
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  raw: string;
}

/** CloudFormation's side: the pre-signed URL the handler answers on. */
let server: Server;
let answers: Answer[] = [];
let answerStatus = 200;
let responseUrl = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      answers.push({ headers: req.headers, body: JSON.parse(raw) as Record<string, unknown>, raw });
      res.writeHead(answerStatus).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  responseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cloudformation-response?X-Amz-Signature=abc`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const secrets = mockClient(SecretsManagerClient);
const handler = createSigningKeyHandler(new SecretsManagerClient({ region: 'eu-west-1' }), createLogger('silent'));

beforeEach(() => {
  secrets.reset();
  answers = [];
  answerStatus = 200;
});

const common = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/LagoWebhooks/1',
  RequestId: 'request-1',
  LogicalResourceId: 'SigningKey',
  ResourceType: 'Custom::WebhookSigningKey',
};
const create = (): SigningKeyEvent => ({ ...common, ResponseURL: responseUrl, RequestType: 'Create', ResourceProperties: { ServiceToken: common.ServiceToken, SecretName: NAME } });
const update = (name: string, oldName = NAME, physicalResourceId = oldName): SigningKeyEvent => ({
  ...common,
  ResponseURL: responseUrl,
  RequestType: 'Update',
  PhysicalResourceId: physicalResourceId,
  ResourceProperties: { ServiceToken: common.ServiceToken, SecretName: name },
  OldResourceProperties: { SecretName: oldName },
});
const remove = (physicalResourceId = NAME): SigningKeyEvent => ({
  ...common,
  ResponseURL: responseUrl,
  RequestType: 'Delete',
  PhysicalResourceId: physicalResourceId,
  ResourceProperties: { ServiceToken: common.ServiceToken, SecretName: NAME },
});

/** Every call the handler made, in order, as command name and input. */
const calls = () => secrets.calls().map((call) => [call.args[0].constructor.name, call.args[0].input]);

function onlyAnswer(): Answer {
  expect(answers).toHaveLength(1);
  return answers[0]!;
}

describe('Create', () => {
  it('stores a new 2048-bit RSA key (PKCS#8 PEM) and answers with the secret ARN, never the key', async () => {
    secrets.on(CreateSecretCommand).resolves({ ARN, Name: NAME });
    await handler(create());

    expect(calls()).toEqual([['CreateSecretCommand', { Name: NAME, SecretString: expect.any(String), Description: expect.any(String) }]]);
    const pem = secrets.commandCalls(CreateSecretCommand)[0]!.args[0].input.SecretString!;
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const key = createPrivateKey(pem);
    expect(key.asymmetricKeyType).toBe('rsa');
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);

    const answer = onlyAnswer();
    expect(answer.body).toEqual({ Status: 'SUCCESS', PhysicalResourceId: NAME, Data: { SecretArn: ARN }, StackId: common.StackId, RequestId: 'request-1', LogicalResourceId: 'SigningKey' });
    expect(answer.raw).not.toContain('PRIVATE KEY');
    // The pre-signed URL is signed without a content type.
    expect(answer.headers['content-type'] ?? '').toBe('');
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
    await handler(create());

    expect(calls()).toEqual([
      ['CreateSecretCommand', expect.objectContaining({ Name: NAME })],
      ['DescribeSecretCommand', { SecretId: NAME }],
    ]);
    expect(onlyAnswer().body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `adopted:${NAME}`, Data: { SecretArn: ARN } });
  });

  it('answers FAILED with the reason, and a physical id no delete will mistake for the secret', async () => {
    secrets.on(CreateSecretCommand).rejects(new SecretsManagerServiceException({ name: 'AccessDeniedException', message: 'not allowed', $fault: 'client', $metadata: {} }));
    await handler(create());

    expect(onlyAnswer().body).toMatchObject({ Status: 'FAILED', Reason: 'not allowed', PhysicalResourceId: 'failed-request-1' });
  });

  it('fails the invocation when CloudFormation refuses the answer', async () => {
    secrets.on(CreateSecretCommand).resolves({ ARN });
    answerStatus = 403;
    await expect(handler(create())).rejects.toThrow('HTTP 403');
  });
});

describe('Update', () => {
  it('keeps the key when the name is unchanged', async () => {
    secrets.on(DescribeSecretCommand).resolves({ ARN, Name: NAME });
    await handler(update(NAME));

    expect(calls()).toEqual([['DescribeSecretCommand', { SecretId: NAME }]]);
    expect(onlyAnswer().body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: NAME, Data: { SecretArn: ARN } });
  });

  it('keeps an adopted key adopted: the physical id does not change, so no replacement follows', async () => {
    secrets.on(DescribeSecretCommand).resolves({ ARN, Name: NAME });
    await handler(update(NAME, NAME, `adopted:${NAME}`));

    expect(onlyAnswer().body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `adopted:${NAME}`, Data: { SecretArn: ARN } });
  });

  it('creates a key under a new name, with a new physical id so CloudFormation removes the old resource', async () => {
    const renamed = 'Other/signing-key';
    secrets.on(CreateSecretCommand).resolves({ ARN: `${ARN}-2` });
    await handler(update(renamed));

    expect(calls()).toEqual([['CreateSecretCommand', expect.objectContaining({ Name: renamed })]]);
    expect(onlyAnswer().body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: renamed, Data: { SecretArn: `${ARN}-2` } });
  });
});

describe('Delete', () => {
  it('deletes the secret without a recovery window', async () => {
    secrets.on(DeleteSecretCommand).resolves({ ARN });
    await handler(remove());

    expect(calls()).toEqual([['DeleteSecretCommand', { SecretId: NAME, ForceDeleteWithoutRecovery: true }]]);
    expect(onlyAnswer().body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: NAME, Data: {} });
  });

  it('succeeds when the secret is already gone', async () => {
    secrets.on(DeleteSecretCommand).rejects(new ResourceNotFoundException({ message: 'gone', $metadata: {} }));
    await handler(remove());

    expect(onlyAnswer().body).toMatchObject({ Status: 'SUCCESS' });
  });

  it('never deletes an adopted key (the rollback of a failed first deploy keeps the key an earlier stack left)', async () => {
    await handler(remove(`adopted:${NAME}`));

    expect(calls()).toEqual([]);
    expect(onlyAnswer().body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `adopted:${NAME}` });
  });

  it('touches nothing after a failed create', async () => {
    await handler(remove('failed-request-0'));

    expect(calls()).toEqual([]);
    expect(onlyAnswer().body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'failed-request-0' });
  });
});
