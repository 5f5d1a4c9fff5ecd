import { createHash } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecretStore } from '../ports.ts';

/**
 * Local mode's secret store: one file per secret under DATA_DIR/secrets, readable by the owner
 * only, so tokens and the signing key survive a restart as they do in Secrets Manager.
 */
export class LocalSecretStore implements SecretStore {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'secrets');
  }

  private file(name: string): string {
    return join(this.dir, createHash('sha256').update(name).digest('hex'));
  }

  async get(name: string): Promise<string | undefined> {
    try {
      return await readFile(this.file(name), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async create(name: string, value: string): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    try {
      // 'wx' fails if the file exists: the first writer wins, as CreateSecret does.
      const handle = await open(this.file(name), 'wx', 0o600);
      await handle.writeFile(value, 'utf8');
      await handle.close();
      return value;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return (await this.get(name)) ?? value;
    }
  }
}
