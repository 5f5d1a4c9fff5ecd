// `npm start` and the CLI as a person uses them: the banner, a port already taken, Ctrl-C stopping everything, data
// surviving a restart; the answers while it starts, and the readiness and liveness routes scripts poll.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '#infra/local/emulators.ts';
import { generateAdminToken } from '#infra/local/env.ts';
import { startLocalService } from '#infra/local/service.ts';
import { deliveryConfigFromEnv } from '#shared/runtime/config.ts';
import { stack } from './helpers.ts';
import { eventually } from '../support/eventually.ts';

const root = process.cwd();
const children: ChildProcess[] = [];
const dirs: string[] = [];

interface Started {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function start(script: string, args: string[], env: Record<string, string>): Started {
  const child = spawn(process.execPath, [join(root, script), ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

async function cli(args: string[], env: Record<string, string>) {
  const run = start('bin/cli.ts', args, env);
  const code = await run.exit;
  return { code, output: run.output() };
}

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('npm start', () => {
  it('refuses to start on a port already in use and exits non-zero', async () => {
    const port = new URL(stack().url).port;
    const dataDir = await mkdtemp(join(tmpdir(), 'lago-webhooks-busy-'));
    dirs.push(dataDir);
    const second = start('bin/local.ts', [], { PORT: port, DATA_DIR: dataDir });
    expect(await second.exit).toBe(1);
    expect(second.output()).toContain(`port ${port} is already in use`);
  });

  it('prints how to begin, stops every child on Ctrl-C, and keeps its data across a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'lago-webhooks-life-'));
    dirs.push(dataDir);
    const port = String(await freePort());
    const env = { PORT: port, DATA_DIR: dataDir, ADMIN_TOKEN: '' };

    const first = start('bin/local.ts', [], env);
    await eventually(
      () => (first.output().includes('Ctrl-C stops everything') ? true : undefined),
      90_000,
      'the banner',
    );
    const banner = first.output();
    expect(banner).toContain(`API base URL   http://127.0.0.1:${port}`);
    expect(banner).toContain(`Web console    http://127.0.0.1:${port}/console/`);
    // Once the banner is printed, the service is ready.
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    // The banner says where the admin token is, never the token itself.
    const tokenFile = join(dataDir, 'admin-token');
    const token = (await readFile(tokenFile, 'utf8')).trim();
    expect(banner).toContain(`Admin token    generated, saved in ${tokenFile}`);
    expect(banner).toContain(`-H "Authorization: Bearer $(cat ${tokenFile})"`);
    expect(banner).not.toContain(token);
    const dynamo = /DynamoDB +(\S+) \(DynamoDB Local, started here\)/.exec(banner)![1]!;
    const sqs = /SQS +(\S+) \(fauxqs, started here\)/.exec(banner)![1]!;
    // The SSRF guard's lines tell what it allows, and which of this service's ports it refuses.
    expect(banner).toContain(
      [
        '  SSRF guard     allows public addresses and 127.0.0.0/8, ::1/128: receivers on this machine work',
        `                 refuses this service's own ports on this machine: ${port} (the API), ${new URL(dynamo).port} (DynamoDB Local), ${new URL(sqs).port} (the SQS emulator)`,
      ].join('\n'),
    );

    // The CLI finds the admin token that `npm start` saved in DATA_DIR.
    const created = await cli(['org', 'create', '--name', 'Restart Co', '--json'], {
      PORT: port,
      DATA_DIR: dataDir,
      ADMIN_TOKEN: '',
    });
    expect(created.code, created.output).toBe(0);
    const org = JSON.parse(created.output) as { organization: { lago_id: string; name: string }; api_key: string };
    expect(org.organization.name).toBe('Restart Co');
    const human = await cli(['dlq', 'status'], { PORT: port, DATA_DIR: dataDir });
    expect(human.output).toContain('dead-letter queue: 0 message(s)');

    first.child.kill('SIGINT');
    expect(await first.exit).toBe(0);
    // DynamoDB Local (a Java child process) is gone with it.
    await expect(fetch(dynamo, { method: 'POST' })).rejects.toThrow();

    const second = start('bin/local.ts', [], env);
    await eventually(
      () => (second.output().includes('Ctrl-C stops everything') ? true : undefined),
      90_000,
      'the second banner',
    );
    expect(second.output()).toContain(`Admin token    saved in ${tokenFile}`);
    expect(second.output()).not.toContain(token);
    const list = await fetch(`http://127.0.0.1:${port}/api/v1/webhook_endpoints`, {
      headers: { authorization: `Bearer ${org.api_key}` },
    });
    expect(list.status).toBe(200);
    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);
  }, 240_000);
});

describe('while it starts', () => {
  it("answers every route 503 in Lago's shape with Retry-After: 1 until it is ready, and /health/ready says when", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'lago-webhooks-starting-'));
    dirs.push(dataDir);
    const port = await freePort();
    const adminToken = generateAdminToken();
    // The emulators' setup waits for this: the service stays in its start-up for as long as the test needs.
    let release = () => undefined as void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const starting = startLocalService({
      port,
      dataDir,
      adminToken,
      config: deliveryConfigFromEnv({}),
      logLevel: 'silent',
      instrument: {
        dynamoDb(client) {
          client.middlewareStack.add(
            (next) => async (args) => {
              await held;
              return next(args);
            },
            { step: 'initialize', name: 'holdStartUp' },
          );
        },
      },
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      const live = await eventually(
        () => fetch(`${url}/health/live`).catch(() => undefined),
        90_000,
        'the port to open',
      );
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: 'live' });
      for (const [method, path, token] of [
        ['GET', '/health/ready', undefined],
        ['GET', '/api/v1/webhook_endpoints', `lwh_${'A'.repeat(43)}`],
        ['GET', '/api/v1/webhook_endpoints', undefined],
        ['POST', '/admin/v1/organizations', adminToken],
        ['POST', '/admin/v1/webhooks/batch', adminToken],
        ['GET', '/api/v1/openapi.json', undefined],
        ['GET', '/console/', undefined],
        ['GET', '/nowhere', undefined],
      ] as const) {
        const res = await fetch(`${url}${path}`, {
          method,
          headers: token ? { authorization: `Bearer ${token}` } : {},
          ...(method === 'POST' ? { body: '{"name":"Early"}' } : {}),
        });
        const what = `${method} ${path}`;
        expect(res.status, what).toBe(503);
        expect(res.headers.get('retry-after'), what).toBe('1');
        expect(res.headers.get('content-type'), what).toBe('application/json; charset=utf-8');
        expect(await res.json(), what).toEqual({
          status: 503,
          error: 'Service Unavailable',
          code: 'starting',
          message: 'the service is starting; retry in a second',
        });
      }

      release();
      await starting;
      const ready = await fetch(`${url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready' });
      expect((await fetch(`${url}/health/live`)).status).toBe(200);
      const created = await fetch(`${url}/admin/v1/organizations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: '{"name":"Ready"}',
      });
      expect(created.status).toBe(201);
    } finally {
      release();
      await starting.then(
        (service) => service.stop(),
        () => undefined,
      );
    }
  }, 180_000);
});

describe('the CLI', () => {
  it('lists its commands and rejects unknown ones', async () => {
    const help = await cli(['--help'], {});
    expect(help.code).toBe(0);
    for (const command of ['org create', 'publish', 'dlq status', 'dlq redrive'])
      expect(help.output).toContain(command);
    const unknown = await cli(['frobnicate', '--token', 'x'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain('unknown command "frobnicate"');
  });

  it('creates an organization and publishes against the running stack', async () => {
    const env = { ADMIN_TOKEN: stack().adminToken };
    const url = stack().url;
    const created = await cli(['org', 'create', '--name', 'CLI Co', '--url', url], env);
    expect(created.code, created.output).toBe(0);
    expect(created.output).toMatch(/api_key\s+lwh_/);
    const id = /lago_id\s+(\S+)/.exec(created.output)![1]!;
    const published = await cli(
      [
        'publish',
        '--org',
        id,
        '--type',
        'invoice.created',
        '--object',
        '{"lago_id":"inv_cli"}',
        '--url',
        url,
        '--json',
      ],
      env,
    );
    expect(published.code, published.output).toBe(0);
    expect(JSON.parse(published.output)).toEqual({ webhooks: [] });
    const bad = await cli(
      ['publish', '--org', id, '--type', 'invoice.created', '--object', '{oops', '--url', url],
      env,
    );
    expect(bad.code).toBe(2);
    expect(bad.output).toContain('--object is not valid JSON');
  });
});
