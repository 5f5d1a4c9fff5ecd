import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { SecretStore } from '../domain/ports.ts';

/** Secrets Manager behind the SecretStore port. */
export class AwsSecretStore implements SecretStore {
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

  /** Scheduled for deletion after Secrets Manager's shortest recovery window (7 days); no longer billed meanwhile. */
  async delete(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }
}
