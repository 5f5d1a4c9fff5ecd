import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { deliveryConfigFromEnv, type DeliveryConfig } from '#shared/runtime/config.ts';
import { assertPublicAddress, parseCidrs, type OwnListeners } from '#shared/domain/delivery/ssrf.ts';
import { localDefaults, SETTINGS, settingsFromEnv, type SettingValues } from '#shared/runtime/settings.ts';

/** Local mode's settings (shared/runtime/settings.ts, scope 'local'), and the delivery settings from the same environment names the Lambda functions read. */

export const DEFAULT_PORT = SETTINGS.port.default;
/** Loopback is exempt from the SSRF guard in local mode, so receivers on this machine work. */
export const LOCAL_ALLOW_CIDRS = SETTINGS.allowCidrs.localDefault;

export const generateAdminToken = () => `adm_${randomBytes(24).toString('base64url')}`;

export interface LocalSettings extends Omit<SettingValues<'local'>, 'adminToken'> {
  adminToken: string;
  /** Where the admin token came from: ADMIN_TOKEN, the file in DATA_DIR, or generated now into that file. */
  adminTokenSource: 'env' | 'file' | 'generated';
  config: DeliveryConfig;
}

export const adminTokenFile = (dataDir: string) => join(dataDir, 'admin-token');

/** ADMIN_TOKEN if set; otherwise the one kept in DATA_DIR, or a new one written there (owner-only). */
async function adminToken(
  set: string | undefined,
  dataDir: string,
): Promise<{ token: string; source: LocalSettings['adminTokenSource'] }> {
  if (set) return { token: set, source: 'env' };
  try {
    return { token: (await readFile(adminTokenFile(dataDir), 'utf8')).trim(), source: 'file' };
  } catch {
    const token = generateAdminToken();
    await mkdir(dataDir, { recursive: true });
    await writeFile(adminTokenFile(dataDir), `${token}\n`, { mode: 0o600 });
    return { token, source: 'generated' };
  }
}

export async function localSettings(env: NodeJS.ProcessEnv = process.env): Promise<LocalSettings> {
  const local = settingsFromEnv('local', env);
  const dataDir = resolve(local.dataDir);
  const config = deliveryConfigFromEnv(env, { ...localDefaults('delivery'), issuer: `http://127.0.0.1:${local.port}` });
  const token = await adminToken(local.adminToken, dataDir);
  return { ...local, dataDir, adminToken: token.token, adminTokenSource: token.source, config };
}

/** The `npm start` banner's lines on the SSRF guard: what it allows besides public addresses, and the service's own ports it refuses. */
export function ssrfGuardLines(allowCidrs: readonly string[], own: OwnListeners): string {
  let loopbackAllowed = true;
  try {
    assertPublicAddress('127.0.0.1', parseCidrs(allowCidrs.join(',')));
  } catch {
    loopbackAllowed = false;
  }
  const allows =
    allowCidrs.length === 0
      ? 'public addresses only: receivers on this machine are refused (WEBHOOK_ALLOW_CIDRS allows some)'
      : `public addresses and ${allowCidrs.join(', ')}: ${loopbackAllowed ? 'receivers on this machine work' : 'not loopback, so receivers on this machine are refused'}`;
  const ports = [...own.ports].map(([port, what]) => `${port} (${what})`).join(', ');
  return `allows ${allows}\n                 refuses this service's own ports on this machine: ${ports}`;
}
