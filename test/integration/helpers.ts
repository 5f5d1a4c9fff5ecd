import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, inject } from 'vitest';
import { deliveryConfigFromEnv } from '#shared/runtime/config.ts';
import { generateAdminToken } from '#infra/local/env.ts';
import { startLocalService, type LocalService, type LocalServiceInstrument } from '#infra/local/service.ts';
import type { LogDestination } from '#shared/runtime/logger.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver, type Reply } from '../support/receiver.ts';
import { contractOf } from './contract.ts';

/** Shared by the integration tests: the stack's address, an HTTP client checked against the OpenAPI document, a second stack. Receivers and bounded waiting are in test/support/. */

export const stack = () => inject('stack');

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

export async function request<T = Record<string, unknown>>(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; raw?: string } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`${stack().url}${path}`, {
    method,
    headers,
    ...(options.raw !== undefined
      ? { body: options.raw }
      : options.body !== undefined
        ? { body: JSON.stringify(options.body) }
        : {}),
  });
  const text = await response.text();
  // Every response a test receives through here must match the OpenAPI document (test/integration/contract.ts).
  await checkContract(method, path, response, text);
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: body as T, text, headers: response.headers };
}

/** For tests that call with fetch themselves: fails unless the response matches the OpenAPI document. */
export async function checkContract(
  method: string,
  path: string,
  response: { status: number; headers: Headers },
  text: string,
): Promise<void> {
  await checkResponse(method, path, response.status, response.headers.get('content-type'), text);
}

export async function checkResponse(
  method: string,
  path: string,
  status: number,
  contentType: string | null,
  text: string,
): Promise<void> {
  (await contractOf(stack().url)).check(method, path, status, contentType, text);
}

export const admin = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) =>
  request<T>(method, path, { token: stack().adminToken, body });

export interface Org {
  id: string;
  apiKey: string;
}

/** What a receiver of the organization verifies with: its HMAC token, Standard Webhooks secret and the JWT public key (PEM). */
export async function verificationKeys(org: Org): Promise<{ hmacKey: string; swSecret: string; publicKeyPem: string }> {
  const keys = await request<{ webhook: { hmac_key: string; standard_webhooks_secret: string } }>(
    'GET',
    '/api/v1/webhooks/hmac_key',
    { token: org.apiKey },
  );
  const publicKey = await request<{ webhook: { public_key: string } }>('GET', '/api/v1/webhooks/json_public_key', {
    token: org.apiKey,
  });
  return {
    hmacKey: keys.body.webhook.hmac_key,
    swSecret: keys.body.webhook.standard_webhooks_secret,
    publicKeyPem: Buffer.from(publicKey.body.webhook.public_key, 'base64').toString('utf8'),
  };
}

export async function createOrg(name = 'Acme'): Promise<Org> {
  const res = await admin<{ organization: { lago_id: string }; api_key: string }>('POST', '/admin/v1/organizations', {
    name,
  });
  if (res.status !== 201) throw new Error(`organization not created: ${res.status} ${res.text}`);
  return { id: res.body.organization.lago_id, apiKey: res.body.api_key };
}

export async function createEndpoint(org: Org, endpoint: Record<string, unknown>): Promise<string> {
  const res = await request<{ webhook_endpoint: { lago_id: string } }>('POST', '/api/v1/webhook_endpoints', {
    token: org.apiKey,
    body: { webhook_endpoint: endpoint },
  });
  if (res.status !== 200) throw new Error(`endpoint not created: ${res.status} ${res.text}`);
  return res.body.webhook_endpoint.lago_id;
}

/**
 * Receivers and endpoints a test file makes, stopped and deleted after each test, the newest first
 * (a dead letter of a deleted endpoint is dropped if redriven later). Call it once, at the top of the file.
 */
export function removedAfterEach() {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    async receiver(reply?: Reply): Promise<Receiver> {
      const r = await new Receiver(reply).start();
      cleanups.push(() => r.stop());
      return r;
    },
    /** An HMAC endpoint unless `body` says otherwise. */
    async endpoint(org: Org, body: Record<string, unknown>): Promise<string> {
      const id = await createEndpoint(org, { signature_algo: 'hmac', ...body });
      cleanups.push(() => request('DELETE', `/api/v1/webhook_endpoints/${id}`, { token: org.apiKey }));
      return id;
    },
  };
}

export async function publish(
  org: Org,
  webhookType = 'invoice.created',
  object: Record<string, unknown> = { lago_id: 'inv_1' },
  extra: Record<string, unknown> = {},
) {
  return admin<{ webhooks: { lago_id: string; lago_webhook_endpoint_id: string }[] }>('POST', '/admin/v1/webhooks', {
    organization_id: org.id,
    webhook_type: webhookType,
    object_type: webhookType.split('.')[0],
    object,
    ...extra,
  });
}

export async function webhook(org: Org, id: string) {
  const res = await request<{
    webhook: Record<string, unknown> & {
      status: string;
      attempts: { http_status: number | null; error: string | null }[];
    };
  }>('GET', `/api/v1/webhooks/${id}`, { token: org.apiKey });
  if (res.status !== 200) throw new Error(`webhook ${id}: ${res.status} ${res.text}`);
  return res.body.webhook;
}

/** Waits until the webhook reaches one of `statuses` and returns its details. */
export async function webhookSettles(org: Org, id: string, statuses: string[], timeoutMs = 20_000) {
  return eventually(
    async () => {
      const w = await webhook(org, id);
      return statuses.includes(w.status) ? w : undefined;
    },
    timeoutMs,
    `webhook ${id} to become ${statuses.join('|')}`,
  );
}

/** Log lines a stack writes, kept for a test to read. */
export class LogCapture implements LogDestination {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
  get text(): string {
    return this.lines.join('');
  }
}

/** An organization of an isolated stack: its id and API key. */
export interface IsolatedTenant {
  id: string;
  key: string;
}

export interface IsolatedStack {
  local: LocalService;
  /** Its DATA_DIR: the CLI's `keys` commands work on the secrets there. */
  dataDir: string;
  call: (
    method: string,
    path: string,
    token: string,
    body?: unknown,
  ) => Promise<{ status: number; body: Record<string, unknown> }>;
  /** A new organization, made with the admin token. */
  tenant(name: string): Promise<IsolatedTenant>;
  /** A new endpoint of the organization (HMAC unless `signature_algo` is given); expects a 200. */
  createEndpoint<T>(org: IsolatedTenant, endpoint: Record<string, unknown>): Promise<T>;
  /** Publishes an `invoice.created` event of `objectId` with the admin token; expects a 202 and returns its webhooks. */
  publish(org: IsolatedTenant, objectId: string): Promise<{ lago_id: string; lago_webhook_endpoint_id: string }[]>;
  stop(): Promise<void>;
}

/** A second local service in this test process, for settings the shared one cannot have; its delivery settings come from `env`. */
export async function isolatedStack(
  name: string,
  env: Record<string, string>,
  options: { logLevel?: string; logDestination?: LogDestination; instrument?: LocalServiceInstrument } = {},
): Promise<IsolatedStack> {
  const dataDir = await mkdtemp(join(tmpdir(), `lago-webhooks-${name}-`));
  const local = await startLocalService({
    port: 0,
    dataDir,
    adminToken: generateAdminToken(),
    config: deliveryConfigFromEnv(env),
    logLevel: options.logLevel ?? 'silent',
    logDestination: options.logDestination,
    ...(options.instrument ? { instrument: options.instrument } : {}),
  });
  const call: IsolatedStack['call'] = async (method, path, token, body) => {
    const res = await fetch(`${local.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    await checkContract(method, path, res, text);
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
  };
  return {
    local,
    dataDir,
    call,
    async tenant(name) {
      const org = await call('POST', '/admin/v1/organizations', local.adminToken, { name });
      return { id: (org.body.organization as { lago_id: string }).lago_id, key: org.body.api_key as string };
    },
    async createEndpoint<T>(org: IsolatedTenant, endpoint: Record<string, unknown>) {
      const res = await call('POST', '/api/v1/webhook_endpoints', org.key, {
        webhook_endpoint: { signature_algo: 'hmac', ...endpoint },
      });
      expect(res.status).toBe(200);
      return res.body.webhook_endpoint as T;
    },
    async publish(org, objectId) {
      const res = await call('POST', '/admin/v1/webhooks', local.adminToken, {
        organization_id: org.id,
        webhook_type: 'invoice.created',
        object_type: 'invoice',
        object: { lago_id: objectId },
      });
      expect(res.status).toBe(202);
      return res.body.webhooks as { lago_id: string; lago_webhook_endpoint_id: string }[];
    },
    async stop() {
      await local.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
