import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { WritableSecretStore } from '../domain/ports.ts';

/** Secrets Manager behind the SecretStore port; `put` is the operator's key rotation's (bin/cli.ts `keys --aws`). */
export class AwsSecretStore implements WritableSecretStore {
  private readonly client: SecretsManagerClient;

  constructor(client: SecretsManagerClient) {
    this.client = client;
  }

  async get(name: string): Promise<string | undefined> {
    try {
      const { SecretString } = await this.client.send(new GetSecretValueCommand({ SecretId: name }));
      return SecretString;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }

  async create(name: string, value: string): Promise<string> {
    try {
      await this.client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
      return value;
    } catch (error) {
      if (!(error instanceof ResourceExistsException)) throw error;
      return (await this.get(name)) ?? value;
    }
  }

  /** A new version of the secret becomes AWSCURRENT (the one before stays readable as AWSPREVIOUS). */
  async put(name: string, value: string): Promise<void> {
    await this.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
  }

  /** Scheduled for deletion after Secrets Manager's shortest recovery window (7 days); no longer billed meanwhile. */
  async delete(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }
}
