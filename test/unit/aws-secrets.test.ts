// Covers shared/adapters/aws-secrets.ts: the exact Secrets Manager calls behind the SecretStore port, with aws-sdk-client-mock.
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsSecretStore } from '#shared/adapters/aws-secrets.ts';

const NAME = 'lago-webhooks/organizations/0196d7a2-0000-7000-8000-00000000000a/hmac';
const secretsManager = mockClient(SecretsManagerClient);
const store = new AwsSecretStore(new SecretsManagerClient({ region: 'eu-west-1' }));

const notFound = () =>
  new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} });
const exists = () => new ResourceExistsException({ message: 'the secret already exists', $metadata: {} });

beforeEach(() => {
  secretsManager.reset();
});

describe('AwsSecretStore.get', () => {
  it('reads the secret by its exact name', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'tok_123' });
    expect(await store.get(NAME)).toBe('tok_123');
    const calls = secretsManager.commandCalls(GetSecretValueCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({ SecretId: NAME });
    expect(secretsManager.calls()).toHaveLength(1);
  });

  it('returns undefined when the secret does not exist', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(notFound());
    expect(await store.get(NAME)).toBeUndefined();
  });

  it('passes any other failure on', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(new Error('AccessDeniedException'));
    await expect(store.get(NAME)).rejects.toThrow('AccessDeniedException');
  });
});

describe('AwsSecretStore.create', () => {
  it('creates the secret with exactly its name and value', async () => {
    secretsManager.on(CreateSecretCommand).resolves({ Name: NAME });
    expect(await store.create(NAME, 'tok_new')).toBe('tok_new');
    const calls = secretsManager.commandCalls(CreateSecretCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({ Name: NAME, SecretString: 'tok_new' });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it('returns the existing value when the secret was created first elsewhere', async () => {
    secretsManager.on(CreateSecretCommand).rejects(exists());
    secretsManager.on(GetSecretValueCommand, { SecretId: NAME }).resolves({ SecretString: 'tok_first' });
    expect(await store.create(NAME, 'tok_second')).toBe('tok_first');
    expect(secretsManager.commandCalls(CreateSecretCommand)[0]!.args[0].input).toEqual({
      Name: NAME,
      SecretString: 'tok_second',
    });
    expect(secretsManager.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: NAME },
    ]);
  });

  it('passes any other failure on', async () => {
    secretsManager.on(CreateSecretCommand).rejects(new Error('LimitExceededException'));
    await expect(store.create(NAME, 'v')).rejects.toThrow('LimitExceededException');
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });
});

describe('AwsSecretStore.delete', () => {
  it('schedules the deletion after the shortest recovery window, by exact name', async () => {
    secretsManager.on(DeleteSecretCommand).resolves({});
    await store.delete(NAME);
    const calls = secretsManager.commandCalls(DeleteSecretCommand);
    expect(calls.map((c) => c.args[0].input)).toEqual([{ SecretId: NAME, RecoveryWindowInDays: 7 }]);
    expect(secretsManager.calls()).toHaveLength(1);
  });

  it('is done when the secret does not exist, and passes any other failure on', async () => {
    secretsManager.on(DeleteSecretCommand).rejectsOnce(notFound()).rejectsOnce(new Error('AccessDeniedException'));
    await store.delete(NAME);
    await expect(store.delete(NAME)).rejects.toThrow('AccessDeniedException');
  });
});

describe('AwsSecretStore.put', () => {
  it("writes a new version of the secret with exactly its name and value (the operator's key rotation)", async () => {
    const ring = 'lago-webhooks/keys/hmac-root';
    secretsManager.on(PutSecretValueCommand).resolves({ Name: ring });
    await store.put(ring, '{"keys":[]}');
    expect(secretsManager.calls().map((call) => [call.args[0].constructor.name, call.args[0].input])).toEqual([
      ['PutSecretValueCommand', { SecretId: ring, SecretString: '{"keys":[]}' }],
    ]);
  });

  it('passes a failure on', async () => {
    secretsManager.on(PutSecretValueCommand).rejects(notFound());
    await expect(store.put(NAME, 'v')).rejects.toThrow("can't find");
  });
});
