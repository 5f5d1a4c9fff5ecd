// The deployment's keys for unit tests: every key secret made as local mode makes them (from a new signing key), in memory.
import { DeploymentKeys } from '#shared/domain/keys/deployment-keys.ts';
import { ensureKeys } from '#shared/domain/keys/provisioning.ts';
import { CachedSecrets, signingKeySecretName } from '#shared/domain/secrets.ts';
import { MemorySecrets } from './memory-secrets.ts';

export const KEYS_PREFIX = 'test';

export async function testKeys(now: () => number = Date.now, secretStore = new MemorySecrets()) {
  await ensureKeys(secretStore, KEYS_PREFIX);
  const keys = new DeploymentKeys({
    secrets: new CachedSecrets(secretStore, 60_000, now),
    prefix: KEYS_PREFIX,
    now,
  });
  const signingKeyPem = secretStore.values.get(signingKeySecretName(KEYS_PREFIX));
  if (!signingKeyPem) throw new Error('no signing key');
  return { secretStore, keys, signingKeyPem };
}
