// Covers the functions' bundles as `cdk synth` builds them (the local esbuild, ES modules with source maps): one per handler, with the package.json aliases resolved, and the api and sender bundles loading and answering on Node 24 with only the environment the stack sets.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, CfnElement } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { WebhookStack } from '#infra/stack.ts';

const CDK_CONTEXT = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }
).context;

let stack: WebhookStack;
let assemblyDir: string;

beforeAll(() => {
  const app = new App({ context: CDK_CONTEXT });
  stack = new WebhookStack(app, 'LagoWebhooks');
  assemblyDir = app.synth().directory;
  // The bundles leave out the AWS SDK, which the Lambda runtime provides: here the repository's copy stands in for it.
  symlinkSync(new URL('../../node_modules', import.meta.url), join(assemblyDir, 'node_modules'));
});

function bundleOf(fn: lambda.IFunction): string {
  const template = JSON.parse(readFileSync(join(assemblyDir, 'LagoWebhooks.template.json'), 'utf8')) as {
    Resources: Record<string, { Properties: { Code: { S3Key: string } } }>;
  };
  const key = template.Resources[stack.getLogicalId(fn.node.defaultChild as CfnElement)]!.Properties.Code.S3Key;
  return join(assemblyDir, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs');
}

describe('bundles', () => {
  it('are ES modules with source maps, one per handler', () => {
    const { api, admin, senders, sweeper, console } = stack.functions;
    for (const fn of [api, admin, senders.fast, senders.slow, sweeper, console, stack.signingKey.handler]) {
      const bundle = bundleOf(fn);
      expect(existsSync(bundle)).toBe(true);
      expect(existsSync(`${bundle}.map`)).toBe(true);
      // The package.json "imports" aliases are resolved by esbuild, not left for the runtime.
      expect(readFileSync(bundle, 'utf8')).not.toMatch(/["']#(shared|infra|functions)\//);
    }
  });

  it('console: the bundle carries the built console and serves it with its security headers', () => {
    const bundle = bundleOf(stack.functions.console);
    expect(readFileSync(join(bundle, '..', 'console', 'index.html'), 'utf8')).toContain('<div id="app">');
    const script = `
      const console = await import(${JSON.stringify(pathToFileURL(bundle).href)});
      const page = await console.handler({ version: '2.0', routeKey: 'GET /console/{proxy+}', rawPath: '/console/', headers: {}, requestContext: { requestId: 'r1' } });
      const bare = await console.handler({ version: '2.0', routeKey: 'GET /console', rawPath: '/console', headers: {}, requestContext: { requestId: 'r2' } });
      process.stdout.write(JSON.stringify({ page, bare }));`;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    const { page, bare } = JSON.parse(output) as Record<
      'page' | 'bare',
      { statusCode: number; headers: Record<string, string>; body: string }
    >;
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<div id="app">');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(bare).toMatchObject({ statusCode: 301, headers: { location: '/console/' } });
  });

  it("load and answer on Node 24, with only their environment: the api refuses a request without a key in Lago's shape and serves its OpenAPI document, the sender takes an empty batch", () => {
    const script = `
      const api = await import(${JSON.stringify(pathToFileURL(bundleOf(stack.functions.api)).href)});
      const sender = await import(${JSON.stringify(pathToFileURL(bundleOf(stack.functions.senders.fast)).href)});
      const refused = await api.handler({ version: '2.0', routeKey: 'GET /api/v1/webhook_endpoints', rawPath: '/api/v1/webhook_endpoints', headers: {}, requestContext: { requestId: 'r1' } });
      const batch = await sender.handler({ Records: [] });
      const openapi = await api.handler({ version: '2.0', routeKey: 'GET /api/v1/openapi.json', rawPath: '/api/v1/openapi.json', headers: {}, requestContext: { requestId: 'r2' } });
      process.stdout.write(JSON.stringify({ node: process.versions.node, refused, batch, openapi }));`;
    const queues = 'https://sqs.eu-west-1.amazonaws.com/123456789012';
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'eu-west-1',
        LOG_LEVEL: 'silent',
        STACK_NAME: 'LagoWebhooks',
        TABLE_NAME: 'webhooks',
        QUEUE_URL: `${queues}/deliveries`,
        SLOW_QUEUE_URL: `${queues}/deliveries-slow`,
        DLQ_URL: `${queues}/dead-letters`,
        LANE: 'fast',
        SECRETS_PREFIX: 'LagoWebhooks',
      },
    });
    const { node, refused, batch, openapi } = JSON.parse(output) as {
      node: string;
      refused: { statusCode: number; body: string };
      batch: unknown;
      openapi: { statusCode: number; body: string };
    };
    expect(node.split('.')[0]).toBe('24');
    expect(refused.statusCode).toBe(401);
    expect(JSON.parse(refused.body)).toEqual({ status: 401, error: 'Unauthorized' });
    expect(batch).toEqual({ batchItemFailures: [] });
    // The OpenAPI document is built inside the bundle, without a key.
    expect(openapi.statusCode).toBe(200);
    expect(JSON.parse(openapi.body)).toMatchObject({
      openapi: '3.1.0',
      paths: { '/api/v1/webhook_endpoints/{lago_id}/test': { post: { summary: 'Send a test event' } } },
    });
  });
});
