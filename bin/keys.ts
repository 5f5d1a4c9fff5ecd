/** The CLI's `keys` commands (bin/cli.ts): the operator rotates and retires the deployment's keys on the secrets themselves. */
import { resolve } from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AwsSecretStore } from '#shared/adapters/aws-secrets.ts';
import { LocalSecretStore } from '#shared/adapters/local-secrets.ts';
import {
  describeKeyrings,
  KEYRING_KINDS,
  retireKeyVersion,
  rotateKeyring,
  type KeyringKind,
} from '#shared/domain/keys/rotation.ts';
import type { WritableSecretStore } from '#shared/domain/ports.ts';
import { LOCAL_SECRETS_PREFIX } from '#shared/runtime/local-deps.ts';
import { settingsFromEnv } from '#shared/runtime/settings.ts';

export const KEYS_HELP = `  keys list                           the key rings: versions, the current one, activation times (no key material)
  keys rotate <signing|hmac-root|seal> [--activate-in <seconds>]
                                      add a new version to a ring: an HMAC root or seal key is current at once;
                                      a signing key is published at once and signs after --activate-in (default
                                      600; keep it above WEBHOOK_KEY_CACHE_SECONDS)
  keys retire <signing|hmac-root|seal> [--] <version>
                                      remove a version that is no longer current: what it made stops working
                                      (docs/security.md#rotation-runbook); a signing key's id may begin with -,
                                      so put -- before it
    --aws --prefix <secretsPrefix>    on the stack's secrets in Secrets Manager (your AWS credentials) instead of
                                      the local DATA_DIR
`;

/** The default wait before a new signing key signs: every process (5-minute key cache by default) has read it by then. */
const DEFAULT_ACTIVATE_IN_SECONDS = 600;

export interface KeysOptions {
  aws: boolean;
  prefix: string | undefined;
  activateIn: string | undefined;
  print: (human: string, data: unknown) => void;
}

export class KeysUsageError extends Error {}

function target(options: KeysOptions): { store: WritableSecretStore; prefix: string } {
  if (!options.aws) {
    if (options.prefix) throw new KeysUsageError('--prefix goes with --aws (local mode has one prefix)');
    return {
      store: new LocalSecretStore(resolve(settingsFromEnv('local', process.env).dataDir)),
      prefix: LOCAL_SECRETS_PREFIX,
    };
  }
  if (!options.prefix) throw new KeysUsageError('--aws needs --prefix <secretsPrefix> (by default the stack name)');
  return { store: new AwsSecretStore(new SecretsManagerClient({})), prefix: options.prefix };
}

function kindOf(raw: string | undefined): KeyringKind {
  const kind = KEYRING_KINDS.find((k) => k === raw);
  if (!kind) throw new KeysUsageError(`name a key ring: ${KEYRING_KINDS.join(', ')}`);
  return kind;
}

function activateInSeconds(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_ACTIVATE_IN_SECONDS;
  const seconds = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(seconds) || seconds < 0)
    throw new KeysUsageError('--activate-in takes whole seconds');
  return seconds;
}

const iso = (ms: number) => new Date(ms).toISOString();

export async function runKeys(args: string[], options: KeysOptions): Promise<void> {
  const [action, ring, version] = args;
  const { store, prefix } = target(options);
  const nowMs = Date.now();
  if (action === 'list') {
    const rings = await describeKeyrings(store, prefix, nowMs);
    const lines = rings.map(
      (r) =>
        `${r.kind}: current ${r.current}; versions ${r.versions
          .map((v) => `${v.version}${v.activates_at_ms !== undefined ? ` (from ${iso(v.activates_at_ms)})` : ''}`)
          .join(', ')}`,
    );
    return options.print(lines.join('\n'), { rings });
  }
  if (action === 'rotate') {
    const kind = kindOf(ring);
    if (kind !== 'signing' && options.activateIn !== undefined)
      throw new KeysUsageError('--activate-in applies to the signing key only');
    const activateInMs = kind === 'signing' ? activateInSeconds(options.activateIn) * 1000 : 0;
    const rotated = await rotateKeyring(store, prefix, kind, { nowMs, activateInMs });
    return options.print(
      kind === 'signing'
        ? `signing: key ${rotated.version} published now; it signs from ${iso(rotated.activatesAtMs)}`
        : `${kind}: ${rotated.version} is current now`,
      { rotated: { ring: kind, version: rotated.version, activates_at: iso(rotated.activatesAtMs) } },
    );
  }
  if (action === 'retire') {
    const kind = kindOf(ring);
    if (!version) throw new KeysUsageError('keys retire needs the version to retire');
    await retireKeyVersion(store, prefix, kind, version, nowMs);
    return options.print(`${kind}: ${version} retired`, { retired: { ring: kind, version } });
  }
  throw new KeysUsageError('keys takes list, rotate or retire');
}
