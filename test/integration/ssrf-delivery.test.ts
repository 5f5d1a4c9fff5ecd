// The SSRF guard at delivery time, with an empty allow-list and names resolved by an injected resolver: names that
// resolve to loopback (listeners on 127.0.0.1, other 127/8 addresses and ::1 prove nothing arrives), to every other
// blocked range (refused before any connection, the attempt names the address), to a mix of public and private, or
// are spelled in upper case or with a trailing dot, are all refused. A redirect to another address is never followed.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setResolver, type ResolvedAddress } from '#shared/adapters/dns.ts';
import { createEndpoint, createOrg, isolatedStack, publish, webhookSettles, type IsolatedStack } from './helpers.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver } from '../support/receiver.ts';

/** A listener on one loopback address that counts what reaches it. */
class Listener {
  hits = 0;
  private server: Server | undefined;
  readonly address: string;
  constructor(address: string) {
    this.address = address;
  }
  async start(): Promise<this | undefined> {
    const server = createServer((_req, res) => {
      this.hits++;
      res.writeHead(200).end('ok');
    });
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(0, this.address, () => resolve(true));
    });
    if (!ok) return undefined;
    this.server = server;
    return this;
  }
  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }
  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

let strict: IsolatedStack;
const listeners: Listener[] = [];
/** Name (lower case, no trailing dot, as a resolver sees it) -> answers. */
const answers = new Map<string, string[]>();
const family = (address: string) => (address.includes(':') ? 6 : 4);

beforeAll(async () => {
  for (const address of ['127.0.0.1', '127.0.0.2', '127.1.2.3', '::1']) {
    const listener = await new Listener(address).start();
    if (listener) listeners.push(listener);
    else console.warn(`cannot listen on ${address} on this machine: that case is skipped`);
  }
  setResolver(async (host): Promise<ResolvedAddress[]> => {
    const found = answers.get(host.toLowerCase().replace(/\.$/, ''));
    if (!found) throw Object.assign(new Error(`queryA ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found.map((address) => ({ address, family: family(address) }));
  });
  strict = await isolatedStack('ssrf-delivery', {
    WEBHOOK_ALLOW_CIDRS: '',
    WEBHOOK_ALLOW_HTTP: 'true',
    WEBHOOK_RETRY_SCHEDULE: '1',
    WEBHOOK_TIMEOUT_MS: '1000',
  });
});

afterAll(async () => {
  setResolver();
  await Promise.all(listeners.map((l) => l.stop()));
  await strict?.stop();
});

interface Case {
  name: string;
  url: string;
  /** What the attempt's error must say. */
  error: RegExp;
}

async function deliverAll(cases: Case[]) {
  const admin = strict.local.adminToken;
  for (let i = 0; i < cases.length; i += 10) {
    const batch = cases.slice(i, i + 10);
    const org = await strict.call('POST', '/admin/v1/organizations', admin, { name: `SSRF ${i}` });
    const orgId = (org.body.organization as { lago_id: string }).lago_id;
    const key = org.body.api_key as string;
    const byEndpoint = new Map<string, Case>();
    for (const c of batch) {
      const res = await strict.call('POST', '/api/v1/webhook_endpoints', key, {
        webhook_endpoint: { webhook_url: c.url },
      });
      expect(res.status, `${c.name}: ${JSON.stringify(res.body)}`).toBe(200);
      byEndpoint.set((res.body.webhook_endpoint as { lago_id: string }).lago_id, c);
    }
    const published = await strict.call('POST', '/admin/v1/webhooks', admin, {
      organization_id: orgId,
      webhook_type: 'invoice.created',
      object_type: 'invoice',
      object: { lago_id: `inv_ssrf_${i}` },
    });
    expect(published.status).toBe(202);
    for (const w of published.body.webhooks as { lago_id: string; lago_webhook_endpoint_id: string }[]) {
      const c = byEndpoint.get(w.lago_webhook_endpoint_id)!;
      const failed = await eventually(
        async () => {
          const res = await strict.call('GET', `/api/v1/webhooks/${w.lago_id}`, key);
          const hook = res.body.webhook as {
            status: string;
            attempts: { error: string | null; http_status: number | null }[];
          };
          return hook.status === 'failed' ? hook : undefined;
        },
        20_000,
        `${c.name} to fail`,
      );
      expect(failed.attempts.length, c.name).toBeGreaterThan(0);
      for (const attempt of failed.attempts) {
        expect(attempt.http_status, c.name).toBeNull();
        expect(attempt.error, c.name).toMatch(c.error);
      }
    }
  }
}

describe('with an empty allow-list, names resolved at delivery', () => {
  it('that resolve to loopback reach no listener, whatever their spelling', async () => {
    const cases: Case[] = [];
    for (const listener of listeners) {
      const label = `lo-${listener.address.replace(/[.:]/g, '-')}`;
      answers.set(`${label}.test`, [listener.address]);
      const escaped = listener.address.replace(/[.]/g, '\\.');
      const error = new RegExp(`address ${escaped} is not allowed \\(loopback\\)`);
      cases.push({ name: label, url: `http://${label}.test:${listener.port}/hook`, error });
      cases.push({
        name: `${label} upper case, trailing dot`,
        url: `http://${label.toUpperCase()}.TEST.:${listener.port}/hook`,
        error,
      });
    }
    const v4 = listeners.find((l) => l.address === '127.0.0.1')!;
    answers.set('mapped.test', ['::ffff:127.0.0.1']);
    cases.push({
      name: 'IPv4-mapped loopback',
      url: `http://mapped.test:${v4.port}/hook`,
      error: /address ::ffff:127\.0\.0\.1 is not allowed \(loopback\)/,
    });
    // The private answer comes first: were the guard to pass it, the connection would reach the listener, not the internet.
    answers.set('mixed.test', ['127.0.0.1', '93.184.216.34']);
    cases.push({
      name: 'one private, one public answer',
      url: `http://mixed.test:${v4.port}/hook`,
      error: /address 127\.0\.0\.1 is not allowed \(loopback\)/,
    });
    await deliverAll(cases);
    for (const listener of listeners) expect(listener.hits, listener.address).toBe(0);
  });

  it('that resolve to any other blocked range are refused before a connection, naming the address', async () => {
    const blocked: [string, string][] = [
      ['10.0.0.1', 'private'],
      ['172.16.0.1', 'private'],
      ['192.168.1.1', 'private'],
      ['100.64.0.1', 'carrierGradeNat'],
      ['169.254.169.254', 'linkLocal'],
      ['fd00:ec2::254', 'uniqueLocal'],
      ['fe80::1', 'linkLocal'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['::ffff:10.0.0.1', 'private'],
      ['64:ff9b::a00:1', 'rfc6052'],
      ['64:ff9b::a9fe:a9fe', 'rfc6052'],
      ['2002:a00:1::1', '6to4'],
      ['2002:c0a8:101::1', '6to4'],
      ['224.0.0.1', 'multicast'],
      ['::a00:1', 'ipv4Compatible'],
    ];
    const cases = blocked.map(([address, range], i): Case => {
      answers.set(`blocked-${i}.test`, [address]);
      return {
        name: `${address} (${range})`,
        url: `http://blocked-${i}.test:9/hook`,
        error: new RegExp(`address ${address.replace(/[.]/g, '\\.')} is not allowed \\(${range}\\)`),
      };
    });
    // A public first answer does not excuse a private second one.
    answers.set('public-then-private.test', ['93.184.216.34', '169.254.169.254']);
    cases.push({
      name: 'public then metadata',
      url: 'http://public-then-private.test:9/hook',
      error: /address 169\.254\.169\.254 is not allowed \(linkLocal\)/,
    });
    await deliverAll(cases);
  });
});

describe('redirects', () => {
  // The shared stack allows loopback, so the redirect's target would be reachable if redirects were followed.
  const fallback = new Receiver();
  const redirecting = new Receiver();
  beforeAll(async () => {
    await fallback.start();
    await redirecting.start();
  });
  afterAll(async () => {
    await fallback.stop();
    await redirecting.stop();
  });

  it('are never followed: a 3xx fails the attempt and nothing reaches the target', async () => {
    const other = listeners.find((l) => l.address === '127.0.0.2');
    const location = other ? `http://127.0.0.2:${other.port}/stolen` : fallback.url;
    redirecting.reply = (_req, res) => res.writeHead(302, { location }).end();
    const org = await createOrg('Redirect');
    await createEndpoint(org, { webhook_url: redirecting.url });
    const published = await publish(org);
    const failed = await webhookSettles(org, published.body.webhooks[0]!.lago_id, ['failed'], 30_000);
    expect(failed.attempts.map((a) => a.http_status)).toEqual(failed.attempts.map(() => 302));
    expect(redirecting.received.length).toBe(failed.attempts.length);
    expect(fallback.received).toHaveLength(0);
    expect(other?.hits ?? 0).toBe(0);
  });
});
