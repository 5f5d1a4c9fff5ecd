// An in-memory SecretStore for unit tests that counts its calls and lets the first writer win, as Secrets Manager does.
import type { WritableSecretStore } from '#shared/domain/ports.ts';

export class MemorySecrets implements WritableSecretStore {
  readonly values = new Map<string, string>();
  gets = 0;
  creates = 0;
  deletes = 0;
  puts = 0;

  async get(name: string): Promise<string | undefined> {
    this.gets++;
    return this.values.get(name);
  }

  async create(name: string, value: string): Promise<string> {
    this.creates++;
    const existing = this.values.get(name);
    if (existing !== undefined) return existing;
    this.values.set(name, value);
    return value;
  }

  async put(name: string, value: string): Promise<void> {
    this.puts++;
    this.values.set(name, value);
  }

  async delete(name: string): Promise<void> {
    this.deletes++;
    this.values.delete(name);
  }
}
