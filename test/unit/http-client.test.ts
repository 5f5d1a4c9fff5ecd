// Covers shared/adapters/http-client.ts postWebhook against real receivers on loopback: statuses, truncation, redirects, timeouts, network failures and the SSRF and https guards.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postWebhook } from '#shared/adapters/http-client.ts';
import type { PostOptions } from '#shared/domain/ports.ts';
import { parseCidrs } from '#shared/domain/delivery/ssrf.ts';

interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

const servers: Server[] = [];

async function receiver(
  respond: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    received.push({
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    });
    respond(req, res);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, received };
}

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    }),
  );
});

const LOCAL: PostOptions = {
  timeoutMs: 5000,
  allow: parseCidrs('127.0.0.0/8'),
  allowHttp: true,
  maxResponseBytes: 16 * 1024,
};
const BODY = JSON.stringify({ webhook_type: 'invoice.created', object_type: 'invoice', invoice: { name: 'Zoë' } });

describe('postWebhook', () => {
  it('POSTs the exact body and headers and returns a 200 with its body', async () => {
    const { url, received } = await receiver((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/plain' }).end('thanks'),
    );
    const result = await postWebhook(
      url,
      { 'Content-Type': 'application/json', 'X-Lago-Unique-Key': 'abc' },
      BODY,
      LOCAL,
    );
    expect(result).toEqual({ ok: true, status: 200, body: 'thanks', retryAfter: undefined });
    expect(received).toHaveLength(1);
    expect(received[0]!.method).toBe('POST');
    expect(received[0]!.url).toBe('/hooks');
    expect(received[0]!.body).toBe(BODY);
    expect(received[0]!.headers['content-type']).toBe('application/json');
    expect(received[0]!.headers['x-lago-unique-key']).toBe('abc');
    expect(received[0]!.headers['content-length']).toBe(String(Buffer.byteLength(BODY)));
  });

  it('keeps only maxResponseBytes of the response body', async () => {
    const big = 'a'.repeat(1000) + 'b'.repeat(200_000);
    const { url } = await receiver((_req, res) => res.writeHead(200).end(big));
    const result = await postWebhook(url, {}, BODY, { ...LOCAL, maxResponseBytes: 1000 });
    expect(result).toEqual({ ok: true, status: 200, body: 'a'.repeat(1000), retryAfter: undefined });
  });

  it('returns error statuses as responses', async () => {
    const { url } = await receiver((_req, res) => res.writeHead(500).end('boom'));
    expect(await postWebhook(url, {}, BODY, LOCAL)).toEqual({
      ok: true,
      status: 500,
      body: 'boom',
      retryAfter: undefined,
    });
  });

  it('does not follow redirects: a 302 comes back as 302', async () => {
    const target = await receiver((_req, res) => res.writeHead(200).end('redirected'));
    const { url, received } = await receiver((_req, res) => res.writeHead(302, { location: target.url }).end());
    const result = await postWebhook(url, {}, BODY, LOCAL);
    expect(result).toMatchObject({ ok: true, status: 302 });
    expect(received).toHaveLength(1);
    expect(target.received).toHaveLength(0);
  });

  it('surfaces the Retry-After header', async () => {
    const { url } = await receiver((_req, res) => res.writeHead(503, { 'retry-after': '120' }).end());
    expect(await postWebhook(url, {}, BODY, LOCAL)).toEqual({ ok: true, status: 503, body: '', retryAfter: '120' });
  });

  it('gives up with kind "timeout" when the receiver never answers', async () => {
    const { url, received } = await receiver(() => {});
    const started = Date.now();
    const result = await postWebhook(url, {}, BODY, { ...LOCAL, timeoutMs: 300 });
    expect(result).toMatchObject({ ok: false, kind: 'timeout' });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(received).toHaveLength(1);
  });

  it('gives up with kind "timeout" when the response body never finishes', async () => {
    const { url } = await receiver((_req, res) => {
      res.writeHead(200);
      res.write('partial');
    });
    const result = await postWebhook(url, {}, BODY, { ...LOCAL, timeoutMs: 300 });
    expect(result).toMatchObject({ ok: false, kind: 'timeout' });
  });

  it('reports a refused connection as kind "network"', async () => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const result = await postWebhook(`http://127.0.0.1:${port}/`, {}, BODY, LOCAL);
    expect(result).toMatchObject({ ok: false, kind: 'network' });
    expect((result as { error: string }).error).toContain('ECONNREFUSED');
  });

  it('reports a connection reset before the response as kind "network"', async () => {
    const { url } = await receiver((req) => req.socket.destroy());
    expect(await postWebhook(url, {}, BODY, LOCAL)).toMatchObject({ ok: false, kind: 'network' });
  });

  it('reports a connection reset in the middle of the response body as kind "network"', async () => {
    const { url } = await receiver((req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('only part of it', () => req.socket.destroy());
    });
    expect(await postWebhook(url, {}, BODY, LOCAL)).toMatchObject({ ok: false, kind: 'network' });
  });

  it('blocks loopback without an allow-list and sends nothing', async () => {
    const { url, received } = await receiver((_req, res) => res.writeHead(200).end());
    const result = await postWebhook(url, {}, BODY, { ...LOCAL, allow: [] });
    expect(result).toMatchObject({ ok: false, kind: 'blocked' });
    expect(received).toHaveLength(0);
  });

  it('blocks the cloud metadata address and IPv6 loopback', async () => {
    expect(
      await postWebhook('http://169.254.169.254/latest/meta-data/', {}, BODY, { ...LOCAL, allow: [] }),
    ).toMatchObject({ ok: false, kind: 'blocked' });
    expect(await postWebhook('http://[::1]:9/', {}, BODY, { ...LOCAL, allow: [] })).toMatchObject({
      ok: false,
      kind: 'blocked',
    });
  });

  it('blocks plain http when only https is allowed, and sends nothing', async () => {
    const { url, received } = await receiver((_req, res) => res.writeHead(200).end());
    const result = await postWebhook(url, {}, BODY, { ...LOCAL, allowHttp: false });
    expect(result).toMatchObject({ ok: false, kind: 'blocked' });
    expect(received).toHaveLength(0);
  });

  it('blocks other schemes and unparsable URLs', async () => {
    expect(await postWebhook('ftp://127.0.0.1/', {}, BODY, LOCAL)).toMatchObject({ ok: false, kind: 'blocked' });
    expect(await postWebhook('not a url', {}, BODY, LOCAL)).toMatchObject({ ok: false, kind: 'blocked' });
  });
});

describe('connection reuse', () => {
  async function countingReceiver(keepAliveTimeout: number) {
    let connections = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end('ok'));
    });
    server.keepAliveTimeout = keepAliveTimeout;
    server.on('connection', () => connections++);
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
      connections: () => connections,
      server,
    };
  }
  const opts: PostOptions = {
    timeoutMs: 2000,
    allow: parseCidrs('127.0.0.0/8'),
    allowHttp: true,
    maxResponseBytes: 1024,
  };

  it('sends successive webhooks to a warm endpoint over one kept-alive connection', async () => {
    const r = await countingReceiver(5000);
    for (let i = 0; i < 20; i++)
      expect(await postWebhook(r.url, {}, `{"n":${i}}`, opts)).toMatchObject({ ok: true, status: 200 });
    expect(r.connections()).toBe(1);
  });

  it('opens a new connection when the receiver closed the idle one, without failing the attempt', async () => {
    // The receiver closes idle connections after 1.2 s, before the client's 4 s.
    const r = await countingReceiver(1200);
    let closed = 0;
    r.server.on('connection', (socket) => socket.on('close', () => closed++));
    for (let round = 1; round <= 3; round++) {
      expect(await postWebhook(r.url, {}, '{}', opts)).toMatchObject({ ok: true, status: 200 });
      // Wait (bounded) until the receiver has dropped the idle connection.
      const deadline = Date.now() + 5000;
      while (closed < round && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(closed).toBe(round);
    }
    expect(await postWebhook(r.url, {}, '{}', opts)).toMatchObject({ ok: true, status: 200 });
    expect(r.connections()).toBe(4);
  });
});

describe('pools per endpoint', () => {
  it('lets an endpoint through while another on the same host holds every socket of its own pool', async () => {
    const server = createServer((req, res) => {
      req.resume();
      if (req.url === '/hang') return; // never answered
      req.on('end', () => res.writeHead(200).end('ok'));
    });
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const opts: PostOptions = {
      timeoutMs: 3000,
      allow: parseCidrs('127.0.0.0/8'),
      allowHttp: true,
      maxResponseBytes: 1024,
    };
    // More hanging requests than a pool has sockets (50).
    let hangingSettled = 0;
    const hanging = Array.from({ length: 60 }, () =>
      postWebhook(`${base}/hang`, {}, '{}', opts).finally(() => hangingSettled++),
    );
    expect(await postWebhook(`${base}/ok`, {}, '{}', opts)).toMatchObject({ ok: true, status: 200 });
    // The healthy endpoint was answered while every hanging request still waited.
    expect(hangingSettled).toBe(0);
    for (const result of await Promise.all(hanging)) expect(result).toMatchObject({ ok: false, kind: 'timeout' });
  });
});
