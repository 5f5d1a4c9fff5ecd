import { createHash, randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WritableSecretStore } from '../domain/ports.ts';

/**
 * Local mode's secret store: one file per secret under DATA_DIR/secrets, readable by the owner
 * only, so tokens and the signing key survive a restart as they do in Secrets Manager.
 */
export class LocalSecretStore implements WritableSecretStore {
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
    const file = this.file(name);
    // Written in full under a private name, then linked into place: link() fails when the name
    // exists, so the first writer wins (as CreateSecret does) and nobody reads a partial secret.
    const temp = `${file}.${randomUUID()}.tmp`;
    try {
      await writeFile(temp, value, { encoding: 'utf8', mode: 0o600, flag: 'wx', flush: true });
      await link(temp, file);
      return value;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return (await this.get(name)) ?? value;
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  /** Written in full under a private name, then renamed over the old file: a reader sees the old value or the new one. */
  async put(name: string, value: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = this.file(name);
    const temp = `${file}.${randomUUID()}.tmp`;
    try {
      await writeFile(temp, value, { encoding: 'utf8', mode: 0o600, flag: 'wx', flush: true });
      await rename(temp, file);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async delete(name: string): Promise<void> {
    await unlink(this.file(name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
}
