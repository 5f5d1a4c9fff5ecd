// Covers the functions' IAM grants against what they call: a local service of its own records every AWS call each handler makes (SDK middleware on its DynamoDB and SQS clients, its secret store) while every route of ROUTES, both delivery lanes, retries to exhaustion, the dead letters' redrive and the sweeper run; each call is then evaluated against that function's IAM policies in the synthesized template (@cloud-copilot/iam-simulate). A call the policies do not allow fails; the test shows that taking one grant away fails it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAdminToken, LOCAL_ALLOW_CIDRS } from '#infra/local/env.ts';
import { startLocalService, type LocalService } from '#infra/local/service.ts';
import { WebhookStack } from '#infra/stack.ts';
import { deliveryConfigFromEnv } from '#shared/runtime/config.ts';
import { ROUTES, routeKey } from '#shared/runtime/routes.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver } from '../support/receiver.ts';
import {
  ACCOUNT,
  ASSUMED_ACCESS_KEY_ID,
  AwsCallRecorder,
  deniedCalls,
  type ResourceMap,
  type TemplateJson,
} from './aws-calls.ts';

const recorder = new AwsCallRecorder();
let local: LocalService;
let dataDir: string;
let template: TemplateJson;
let map: ResourceMap;
const ok = new Receiver();
// Fails every attempt, so webhooks exhaust their schedule and reach the dead letters.
const failing = new Receiver((_req, res) => res.writeHead(500).end('down'));
// Answers after the fast lane's budget, so attempts are cut and made again in the slow lane.
const slow = new Receiver((_req, res) => void setTimeout(() => res.writeHead(200).end('late'), 500));
/** AWS destinations: the allow-list the local service and the stack share, a customer's role it names, and their queue. */
const DESTINATION_ROLES = `arn:aws:iam::${ACCOUNT}:role/lago-*`;
const CUSTOMER_ROLE = `arn:aws:iam::${ACCOUNT}:role/lago-customer`;
const CUSTOMER_QUEUE = `arn:aws:sqs:eu-west-1:${ACCOUNT}:customer-billing`;
/** The routes this test called, as `METHOD /path/{param}`. */
const called = new Set<string>();

type Body = Record<string, unknown>;

/** Calls a route of the local service, by its path template and the values of its parameters. */
async function call(
  method: string,
  path: string,
  { token, body, params = {} }: { token: string; body?: unknown; params?: Record<string, string> },
): Promise<{ status: number; body: Body }> {
  called.add(`${method} ${path}`);
  const url = path.replace(/\{(\w+)\+?\}/g, (_match, name: string) => params[name] ?? 'index.html');
  const response = await fetch(`${local.url}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: Body = {};
  try {
    parsed = JSON.parse(text) as Body;
  } catch {
    // the console's pages are not JSON
  }
  return { status: response.status, body: parsed };
}

beforeAll(async () => {
  await Promise.all([ok.start(), failing.start(), slow.start()]);
  dataDir = await mkdtemp(join(tmpdir(), 'lago-webhooks-iam-'));
  local = await startLocalService({
    port: 0,
    dataDir,
    adminToken: generateAdminToken(),
    config: deliveryConfigFromEnv({
      WEBHOOK_RETRY_SCHEDULE: '1',
      WEBHOOK_TIMEOUT_MS: '1500',
      WEBHOOK_FAST_LANE_MS: '200',
      WEBHOOK_SLOW_AFTER_MS: '100',
      WEBHOOK_ALLOW_CIDRS: LOCAL_ALLOW_CIDRS.join(','),
      WEBHOOK_ALLOW_HTTP: 'true',
      API_BASE_URL: 'http://localhost:3000',
      WEBHOOK_AWS_DESTINATION_ROLES: DESTINATION_ROLES,
    }),
    logLevel: 'silent',
    sweepIntervalMs: 500,
    instrument: recorder.instrument,
  });
  const { lanes, deadLetter } = local.queues;
  recorder.start({ [lanes.fast.url]: 'sender-fast', [lanes.slow.url]: 'sender-slow' });

  const stack = new WebhookStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'LagoWebhooks', {
    awsDestinationRoles: [DESTINATION_ROLES],
  });
  template = Template.fromStack(stack).toJSON() as TemplateJson;
  const id = (construct: IConstruct) => stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
  map = {
    table: id(stack.table.table),
    queues: {
      [lanes.fast.url]: id(stack.queues.lanes.fast),
      [lanes.slow.url]: id(stack.queues.lanes.slow),
      [deadLetter.url]: id(stack.queues.deadLetterQueue),
    },
    secretsPrefix: 'LagoWebhooks',
    functions: {
      api: id(stack.functions.api),
      admin: id(stack.functions.admin),
      'sender-fast': id(stack.functions.senders.fast),
      'sender-slow': id(stack.functions.senders.slow),
      sweeper: id(stack.functions.sweeper),
    },
  };
  await runWorkload();
  // About a minute on an idle machine; synthesis and the retries' rounds take several times that on a loaded one.
}, 300_000);

afterAll(async () => {
  await local?.stop();
  await Promise.all([ok.stop(), failing.stop(), slow.stop()]);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Every route, both lanes, an exhausted webhook, its dead letter's redrive, retries, recovery and replay. */
async function runWorkload(): Promise<void> {
  const adminToken = local.adminToken;
  const created = await call('POST', '/admin/v1/organizations', { token: adminToken, body: { name: 'IAM' } });
  const org = { id: String((created.body.organization as Body).lago_id), key: String(created.body.api_key) };
  const api = (method: string, path: string, body?: unknown, params?: Record<string, string>) =>
    call(method, path, { token: org.key, body, params });

  const endpoint = async (url: string, signature_algo: string) =>
    String(
      (
        (await api('POST', '/api/v1/webhook_endpoints', { webhook_endpoint: { webhook_url: url, signature_algo } }))
          .body.webhook_endpoint as Body
      ).lago_id,
    );
  const okId = await endpoint(ok.url, 'hmac');
  const failingId = await endpoint(failing.url, 'jwt');
  await endpoint(slow.url, 'hmac');
  // An AWS destination: the sender assumes the customer's role, and sends as that role.
  const destination = await api('POST', '/api/v1/webhook_endpoints', {
    webhook_endpoint: { webhook_url: CUSTOMER_QUEUE, aws_role_arn: CUSTOMER_ROLE },
  });
  const destinationId = String((destination.body.webhook_endpoint as Body).lago_id);
  const spare = await endpoint(`${ok.url}/spare`, 'hmac');
  await api('GET', '/api/v1/webhook_endpoints');
  await api('GET', '/api/v1/webhook_endpoints/{lago_id}', undefined, { lago_id: okId });
  await api(
    'PUT',
    '/api/v1/webhook_endpoints/{lago_id}',
    { webhook_endpoint: { webhook_url: `${ok.url}/moved` } },
    {
      lago_id: spare,
    },
  );
  await api('DELETE', '/api/v1/webhook_endpoints/{lago_id}', undefined, { lago_id: spare });
  await api('POST', '/api/v1/webhook_endpoints/{lago_id}/test', { webhook_type: 'invoice.created' }, { lago_id: okId });
  for (const path of [
    '/api/v1/webhooks/public_key',
    '/api/v1/webhooks/json_public_key',
    '/api/v1/webhooks/jwks.json',
    '/api/v1/webhooks/hmac_key',
  ])
    await api('GET', path);
  await api('POST', '/api/v1/webhooks/hmac_key/rotate', { overlap_seconds: 60 });
  // A portal session (its key from the HMAC root ring), used on the api function, then revoked.
  const session = await call('POST', '/admin/v1/organizations/{lago_id}/portal_sessions', {
    token: adminToken,
    body: { role: 'viewer', webhook_endpoint_id: okId },
    params: { lago_id: org.id },
  });
  expect(session.status).toBe(201);
  const sessionToken = String((session.body.portal_session as Body).token);
  expect((await call('GET', '/api/v1/webhook_endpoints', { token: sessionToken })).status).toBe(200);
  const revoked = await call('POST', '/admin/v1/organizations/{lago_id}/portal_sessions/revoke', {
    token: adminToken,
    params: { lago_id: org.id },
  });
  expect(revoked.status).toBe(200);
  await api('GET', '/api/v1/webhook_event_types');
  await api('GET', '/api/v1/openapi.json');
  await api('GET', '/console');
  await api('GET', '/console/{proxy+}');

  const event = { organization_id: org.id, webhook_type: 'invoice.created', object_type: 'invoice' };
  await call('POST', '/admin/v1/webhooks', { token: adminToken, body: { ...event, object: { lago_id: 'inv_1' } } });
  await call('POST', '/admin/v1/webhooks/batch', {
    token: adminToken,
    body: { events: [{ ...event, object: { lago_id: 'inv_2' } }] },
  });
  // 2 publishes and the test event reach the ok receiver; 2 × 2 attempts the failing one; the slow one answers late.
  await ok.waitFor(3, 30_000);
  await failing.waitFor(4, 30_000);
  await slow.waitFor(2, 30_000);
  const logs = async (status: string, endpointId: string) =>
    (
      (await api('GET', `/api/v1/webhooks?statuses[]=${status}&webhook_endpoint_id=${endpointId}`)).body
        .webhooks as Body[]
    ).map((webhook) => String(webhook.lago_id));
  await eventually(
    async () => ((await logs('succeeded', destinationId)).length >= 2 ? true : undefined),
    30_000,
    'the AWS destination’s webhooks to be delivered',
  );
  called.add('GET /api/v1/webhooks');
  const failed = await eventually(
    async () => ((await logs('failed', failingId)).length >= 2 ? logs('failed', failingId) : undefined),
    30_000,
    'the failing endpoint’s webhooks to be failed',
  );
  const succeeded = await eventually(
    async () => ((await logs('succeeded', okId)).length > 0 ? logs('succeeded', okId) : undefined),
    30_000,
    'a succeeded webhook',
  );
  await api('GET', '/api/v1/webhooks/{lago_id}', undefined, { lago_id: succeeded[0]! });
  await eventually(
    async () =>
      ((await call('GET', '/admin/v1/dead_letters', { token: adminToken })).body.dead_letters as { count: number })
        .count > 0 || undefined,
    30_000,
    'exhausted webhooks in the dead letters',
  );
  await call('POST', '/admin/v1/dead_letters/redrive', { token: adminToken });
  await api('POST', '/api/v1/webhooks/{lago_id}/retry', undefined, { lago_id: failed[0]! });
  await api('POST', '/api/v1/webhooks/{lago_id}/resend', undefined, { lago_id: succeeded[0]! });
  const today = new Date().toISOString().slice(0, 10);
  await api('POST', '/api/v1/webhooks/recover', {
    webhook_endpoint_id: failingId,
    from_date: today,
    to_date: `${today}T23:59:59Z`,
  });
  // Replay: the ok endpoint's own webhooks are resent; an endpoint created since gets webhooks of its own.
  const window = { from_date: today, to_date: `${today}T23:59:59Z` };
  await api('POST', '/api/v1/webhook_endpoints/{lago_id}/replay', window, { lago_id: okId });
  const late = await endpoint(`${ok.url}/late`, 'hmac');
  await api('POST', '/api/v1/webhook_endpoints/{lago_id}/replay', window, { lago_id: late });
  await local.sweep();
  // The redriven, retried and recovered webhooks are attempted again (and fail again).
  await failing.waitFor(6, 30_000);
}

describe("every AWS call a function makes is allowed by that function's IAM policies", () => {
  it('called every route of ROUTES', () => {
    expect([...called].filter((key) => !key.includes('?')).sort()).toEqual(
      expect.arrayContaining(ROUTES.map(routeKey)),
    );
  });

  it('recorded calls of every function on both lanes, and none outside a function or a lane’s poller', () => {
    expect(new Set(recorder.calls.map((c) => c.fn))).toEqual(
      new Set(['api', 'admin', 'sender-fast', 'sender-slow', 'sweeper']),
    );
    expect(recorder.unattributed).toEqual([]);
  });

  it('allows each of them', async () => {
    expect(await deniedCalls(template, map, recorder.calls)).toEqual([]);
  });

  it("records the senders' AssumeRole of the customer's role, and the destination's SendMessage as that role's call, not a function's", () => {
    expect(recorder.calls).toEqual(
      expect.arrayContaining([
        {
          fn: expect.stringMatching(/^sender-/),
          action: 'sts:AssumeRole',
          resource: { kind: 'role', arn: CUSTOMER_ROLE },
        },
      ]),
    );
    expect(recorder.calls.filter((call) => call.action === 'sts:AssumeRole' && !call.fn.startsWith('sender-'))).toEqual(
      [],
    );
    expect(recorder.assumedCalls.length).toBeGreaterThanOrEqual(2);
    for (const call of recorder.assumedCalls)
      expect(call).toEqual({
        action: 'sqs:SendMessage',
        target: `https://sqs.eu-west-1.amazonaws.com/${ACCOUNT}/customer-billing`,
        accessKeyId: ASSUMED_ACCESS_KEY_ID,
      });
    expect(recorder.calls.filter((call) => JSON.stringify(call.resource).includes('customer-billing'))).toEqual([]);
  });

  it('fails when a grant is taken away: the senders without sts:AssumeRole (a stack whose awsDestinationRoles is empty)', async () => {
    const cut = structuredClone(template);
    for (const resource of Object.values(cut.Resources)) {
      const document = resource.Properties?.PolicyDocument as { Statement: { Action: unknown }[] } | undefined;
      if (resource.Type !== 'AWS::IAM::Policy' || !document) continue;
      document.Statement = document.Statement.filter(
        (statement) => ![statement.Action].flat().includes('sts:AssumeRole'),
      );
    }
    const denied = await deniedCalls(cut, map, recorder.calls);
    expect(denied.length).toBeGreaterThan(0);
    for (const line of denied)
      expect(line).toMatch(new RegExp(`^sender-(fast|slow) sts:AssumeRole ${CUSTOMER_ROLE}: ImplicitlyDenied$`));
  });

  it('fails when a grant is taken away: the senders without UpdateItem on the table', async () => {
    const cut = structuredClone(template);
    for (const resource of Object.values(cut.Resources)) {
      const document = resource.Properties?.PolicyDocument as { Statement: { Action: unknown }[] } | undefined;
      if (resource.Type !== 'AWS::IAM::Policy' || !document) continue;
      const roles = JSON.stringify(resource.Properties?.Roles);
      if (!roles.includes('FunctionsSenderRole') && !roles.includes('FunctionsSlowSenderRole')) continue;
      for (const statement of document.Statement)
        if (Array.isArray(statement.Action))
          statement.Action = statement.Action.filter((action) => action !== 'dynamodb:UpdateItem');
    }
    const denied = await deniedCalls(cut, map, recorder.calls);
    expect(denied).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^sender-fast dynamodb:UpdateItem arn:aws:dynamodb:.*:table\/.*: ImplicitlyDenied$/),
      ]),
    );
    expect(denied.every((line) => /^sender-(fast|slow) dynamodb:UpdateItem /.test(line))).toBe(true);
  });
});
