import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError, deliveryConfigFromEnv, type DeliveryConfig } from '#shared/runtime/config.ts';

/** Local mode's settings, from the same environment names the Lambda functions read. */

export const DEFAULT_PORT = 3000;
/** Loopback is exempt from the SSRF guard in local mode, so receivers on this machine work. */
export const LOCAL_ALLOW_CIDRS = ['127.0.0.0/8', '::1/128'];

export const generateAdminToken = () => `adm_${randomBytes(24).toString('base64url')}`;
export const DEFAULT_DATA_DIR = '.data';

export interface LocalSettings {
  port: number;
  dataDir: string;
  adminToken: string;
  adminTokenGenerated: boolean;
  config: DeliveryConfig;
  dynamoDbPort: number | undefined;
  sqsPort: number | undefined;
  dynamoDbEndpoint: string | undefined;
  sqsEndpoint: string | undefined;
  sweepIntervalMs: number;
  logLevel: string;
}

function portFrom(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`${name} must be a port number, got "${raw}"`);
  return port;
}

/** An emulator's URL: http or https, with a host, nothing after the port. */
function endpointFrom(raw: string | undefined, name: string): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL such as http://127.0.0.1:8000, got "${raw}"`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search || url.hash)
    throw new ConfigError(`${name} must be a URL such as http://127.0.0.1:8000, got "${raw}"`);
  return url.origin;
}

export const adminTokenFile = (dataDir: string) => join(dataDir, 'admin-token');

/** ADMIN_TOKEN if set; otherwise the one kept in DATA_DIR, or a new one written there (owner-only). */
async function adminToken(env: NodeJS.ProcessEnv, dataDir: string): Promise<{ token: string; generated: boolean }> {
  if (env.ADMIN_TOKEN) return { token: env.ADMIN_TOKEN, generated: false };
  try {
    return { token: (await readFile(adminTokenFile(dataDir), 'utf8')).trim(), generated: false };
  } catch {
    const token = generateAdminToken();
    await mkdir(dataDir, { recursive: true });
    await writeFile(adminTokenFile(dataDir), `${token}\n`, { mode: 0o600 });
    return { token, generated: true };
  }
}

export async function localSettings(env: NodeJS.ProcessEnv = process.env): Promise<LocalSettings> {
  const port = portFrom(env.PORT, 'PORT') ?? DEFAULT_PORT;
  const dataDir = resolve(env.DATA_DIR || DEFAULT_DATA_DIR);
  const config = deliveryConfigFromEnv({
    WEBHOOK_ALLOW_CIDRS: LOCAL_ALLOW_CIDRS.join(','),
    WEBHOOK_ALLOW_HTTP: 'true',
    API_BASE_URL: `http://127.0.0.1:${port}`,
    ...env,
  });
  const token = await adminToken(env, dataDir);
  const sweep = Number(env.SWEEP_INTERVAL_MS ?? 60_000);
  if (!Number.isInteger(sweep) || sweep < 100) throw new ConfigError('SWEEP_INTERVAL_MS must be at least 100');
  return {
    port,
    dataDir,
    adminToken: token.token,
    adminTokenGenerated: token.generated,
    config,
    dynamoDbPort: portFrom(env.DYNAMODB_PORT, 'DYNAMODB_PORT'),
    sqsPort: portFrom(env.SQS_PORT, 'SQS_PORT'),
    dynamoDbEndpoint: endpointFrom(env.DYNAMODB_ENDPOINT, 'DYNAMODB_ENDPOINT'),
    sqsEndpoint: endpointFrom(env.SQS_ENDPOINT, 'SQS_ENDPOINT'),
    sweepIntervalMs: sweep,
    logLevel: env.LOG_LEVEL ?? 'info',
  };
}
