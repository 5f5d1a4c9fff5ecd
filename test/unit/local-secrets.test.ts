// Covers shared/adapters/local-secrets.ts: secrets kept as owner-only files in a data directory, first writer wins.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalSecretStore } from '#shared/adapters/local-secrets.ts';

// Lets one test make the next file write fail, whichever fs/promises call the store writes with.
let failNextWrite = false;
const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const failing = () => {
    if (!failNextWrite) return false;
    failNextWrite = false;
    return true;
  };
  return {
    ...fs,
    writeFile: ((...args: Parameters<typeof fs.writeFile>) =>
      failing() ? Promise.reject(enospc()) : fs.writeFile(...args)) as typeof fs.writeFile,
    open: (async (...args: Parameters<typeof fs.open>) => {
      const handle = await fs.open(...args);
      const write = handle.writeFile.bind(handle);
      handle.writeFile = ((...writeArgs: Parameters<typeof handle.writeFile>) =>
        failing() ? Promise.reject(enospc()) : write(...writeArgs)) as typeof handle.writeFile;
      return handle;
    }) as typeof fs.open,
  };
});

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lwh-secrets-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('LocalSecretStore', () => {
  it('returns undefined for a secret never created', async () => {
    expect(await new LocalSecretStore(dataDir).get('nope')).toBeUndefined();
  });

  it('round-trips a value, also through a new instance (a restart)', async () => {
    const value = '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n';
    expect(await new LocalSecretStore(dataDir).create('p/signing-key', value)).toBe(value);
    expect(await new LocalSecretStore(dataDir).get('p/signing-key')).toBe(value);
    expect(await new LocalSecretStore(dataDir).get('p/other')).toBeUndefined();
  });

  it('writes owner-only files in an owner-only folder, without the name in the path', async () => {
    await new LocalSecretStore(dataDir).create('p/organizations/org-1/hmac', 'tok');
    const dir = join(dataDir, 'secrets');
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).not.toContain('org-1');
    expect((await stat(join(dir, files[0]!))).mode & 0o777).toBe(0o600);
  });

  it('lets the first writer win, also when writers race', async () => {
    const store = new LocalSecretStore(dataDir);
    expect(await store.create('s', 'first')).toBe('first');
    expect(await store.create('s', 'second')).toBe('first');
    expect(await store.get('s')).toBe('first');

    const results = await Promise.all(['a', 'b', 'c', 'd'].map((v) => new LocalSecretStore(dataDir).create('race', v)));
    const winner = await store.get('race');
    expect(['a', 'b', 'c', 'd']).toContain(winner);
    expect(results).toEqual([winner, winner, winner, winner]);
  });

  // Fails today: create() makes the file empty with open('wx') and only then writes it, so a write that fails
  // (disk full, a crash, a kill during `npm start`) leaves an empty secret that every later create and get returns.
  it('does not keep a secret whose first write failed', async () => {
    const store = new LocalSecretStore(dataDir);
    failNextWrite = true;
    await expect(store.create('p/signing-key', 'first')).rejects.toThrow('ENOSPC');
    expect(await store.create('p/signing-key', 'second')).toBe('second');
    expect(await store.get('p/signing-key')).toBe('second');
  });

  it('replaces a value with put (key rotation): owner-only, and a failed write keeps the value before it', async () => {
    const store = new LocalSecretStore(dataDir);
    await store.create('p/keys/seal', 'v1');
    await store.put('p/keys/seal', 'v2');
    expect(await new LocalSecretStore(dataDir).get('p/keys/seal')).toBe('v2');
    const files = await readdir(join(dataDir, 'secrets'));
    expect(files).toHaveLength(1);
    expect((await stat(join(dataDir, 'secrets', files[0]!))).mode & 0o777).toBe(0o600);

    failNextWrite = true;
    await expect(store.put('p/keys/seal', 'v3')).rejects.toThrow('ENOSPC');
    expect(await store.get('p/keys/seal')).toBe('v2');
    expect(await readdir(join(dataDir, 'secrets'))).toHaveLength(1);
  });
});
