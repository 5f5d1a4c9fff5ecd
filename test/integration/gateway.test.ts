// The local gateway against odd request targets, missing or malformed credentials with a body pending, and clients
// that abort an upload: Lago-shaped 4xx answers before any body is read, and no error logged for a client going away.
// Also the operator's redrive route, which refuses a body that is not a JSON object.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedStack, LogCapture, stack, type IsolatedStack } from './helpers.ts';
import { eventually } from '../support/eventually.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  closed: boolean;
}

/** Sends `head` (and nothing more) on a fresh connection and reads the answer; `closed` says whether the server closed the connection. */
function raw(url: string, head: Buffer | string): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let data = Buffer.alloc(0);
    const finish = (closed: boolean) => {
      const text = data.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return reject(new Error(`no answer: ${text}`));
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const headers = Object.fromEntries(
        lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      let body = text.slice(end + 4);
      // A chunked body: keep the chunks' data, drop their sizes.
      if (headers['transfer-encoding'] === 'chunked')
        body = body
          .split('\r\n')
          .filter((_, i) => i % 2 === 1)
          .join('');
      let parsed: unknown = body;
      try {
        parsed = JSON.parse(body);
      } catch {
        // not JSON: the test reports it
      }
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: parsed, closed });
    };
    // The server closes every connection in these tests; one it keeps open is answered after a pause.
    const timer = setTimeout(() => {
      socket.destroy();
      finish(false);
    }, 3000);
    socket.on('data', (chunk: Buffer) => (data = Buffer.concat([data, chunk])));
    socket.on('close', () => {
      clearTimeout(timer);
      finish(true);
    });
    socket.on('error', () => {});
    socket.write(head);
  });
}

const lagoShaped = (res: RawResponse, what: string) => {
  const body = res.body as { status?: unknown; error?: unknown };
  expect(res.status, what).toBeGreaterThanOrEqual(400);
  expect(res.status, what).toBeLessThan(500);
  expect(body.status, `${what}: ${JSON.stringify(res.body)}`).toBe(res.status);
  expect(typeof body.error, what).toBe('string');
};

describe('request targets that are not a path', () => {
  it('get a 4xx in Lago shape, never a 500', async () => {
    for (const target of [
      '//',
      '///',
      '/\\',
      '/\\\\evil.example/x',
      '//evil.example/api/v1/webhooks',
      'http://evil.example/api/v1/webhooks',
      '*',
      '/api/v1/webhooks/%',
      '/%00',
    ]) {
      const res = await raw(stack().url, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      lagoShaped(res, target);
    }
    const res = await raw(stack().url, 'GET // HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(res).toMatchObject({
      status: 400,
      body: { status: 400, error: 'BadRequest: the request target is not a path' },
    });
  });
});

describe('credentials are checked before the body is read', () => {
  const post = (path: string, authorization: Buffer | undefined) =>
    Buffer.concat([
      Buffer.from(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 524288\r\n`),
      ...(authorization ? [Buffer.from('Authorization: '), authorization, Buffer.from('\r\n')] : []),
      Buffer.from('\r\n'),
    ]);
  const latin1 = (s: string) => Buffer.from(s, 'latin1');

  it('answers 401 and closes the connection while a 512 KB body is still pending', async () => {
    const key = `lwh_${'a'.repeat(43)}`;
    for (const authorization of [
      undefined,
      latin1('Basic abc'),
      latin1(`Bearer\u00a0${key}`),
      latin1(`Bearer\t${key}`),
      latin1('Bearer sk_live_x'),
      latin1(`Bearer ${key} ${key}`),
    ]) {
      for (const path of ['/api/v1/webhook_endpoints', '/admin/v1/organizations']) {
        const res = await raw(stack().url, post(path, authorization));
        expect(res, `${path} ${String(authorization)}`).toMatchObject({
          status: 401,
          body: { status: 401, error: 'Unauthorized' },
          closed: true,
        });
        expect(res.headers.connection).toBe('close');
      }
    }
    // The admin token with a no-break space instead of a space is refused too.
    const admin = await raw(stack().url, post('/admin/v1/organizations', latin1(`Bearer\u00a0${stack().adminToken}`)));
    expect(admin.status).toBe(401);
  });
});

describe('on a stack of its own, logs captured at debug', () => {
  let isolated: IsolatedStack;
  const logs = new LogCapture();

  beforeAll(async () => {
    isolated = await isolatedStack(
      'gateway',
      { WEBHOOK_ALLOW_HTTP: 'true' },
      { logLevel: 'debug', logDestination: logs },
    );
  });

  afterAll(async () => {
    await isolated?.stop();
  });

  it('redrive takes no body or a JSON object, and answers anything else with a 400', async () => {
    const redrive = (body: string | undefined) =>
      fetch(`${isolated.local.url}/admin/v1/dead_letters/redrive`, {
        method: 'POST',
        headers: { authorization: `Bearer ${isolated.local.adminToken}`, 'content-type': 'application/json' },
        ...(body !== undefined ? { body } : {}),
      });
    for (const body of [undefined, '', '{}']) {
      const res = await redrive(body);
      expect(res.status, String(body)).toBe(200);
      expect(await res.json()).toEqual({ redrive: { moved: 0, running: false } });
    }
    for (const body of ['{', 'not json', '[]', '"x"', '1']) {
      const res = await redrive(body);
      expect(res.status, body).toBe(400);
      expect(((await res.json()) as { status: number }).status).toBe(400);
    }
  });

  it('a client aborting its upload is a debug line, without an error or a stack trace', async () => {
    const { hostname, port } = new URL(isolated.local.url);
    for (let i = 0; i < 3; i++) {
      const socket = connect({ host: hostname, port: Number(port) });
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(
        `POST /api/v1/webhook_endpoints HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer lwh_${'b'.repeat(43)}\r\nContent-Length: 100000\r\n\r\n{"webhook_endpoint":`,
      );
      // The gateway is reading the body when the client goes away.
      await eventually(() => (socket.bytesWritten > 0 ? true : undefined));
      socket.destroy();
    }
    await eventually(
      () => (logs.lines.filter((l) => l.includes('a client aborted its request')).length >= 3 ? true : undefined),
      10_000,
      'three debug lines',
    );
    const entries = logs.lines.map((l) => JSON.parse(l) as { level: number; msg: string; err?: unknown });
    expect(entries.filter((e) => e.level >= 40)).toEqual([]);
    expect(logs.text).not.toContain('"stack"');
  });
});
