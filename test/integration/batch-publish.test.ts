// Batch publish on the local service: per-event answers for mixed valid and invalid events, idempotency within and across batches and under concurrency, what receivers get, the request limits, and the CLI's publish --file.
import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import type { DeliveryQueue } from '#shared/domain/ports.ts';
import type { LocalServiceInstrument } from '#infra/local/service.ts';
import { LOCAL_ALLOW_CIDRS } from '#infra/local/env.ts';
import {
  admin,
  createEndpoint,
  createOrg,
  isolatedStack,
  request,
  stack,
  webhookSettles,
  type Org,
} from './helpers.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver } from '../support/receiver.ts';

interface Published {
  lago_id: string;
  lago_webhook_endpoint_id: string;
  webhook_url: string;
  status: string;
}

interface Result {
  index: number;
  status: number;
  webhooks?: Published[];
  error?: Record<string, unknown>;
}

const batch = (events: unknown[]) => admin<{ results: Result[] }>('POST', '/admin/v1/webhooks/batch', { events });

const event = (
  org: Org | string,
  webhookType: string,
  object: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) => ({
  organization_id: typeof org === 'string' ? org : org.id,
  webhook_type: webhookType,
  object_type: webhookType.split('.')[0],
  object,
  ...extra,
});

const envelope = (org: Org, webhookType: string, object: Record<string, unknown>) =>
  JSON.stringify({
    webhook_type: webhookType,
    object_type: webhookType.split('.')[0],
    organization_id: org.id,
    [webhookType.split('.')[0]!]: object,
  });

const receivers: Receiver[] = [];
async function receiver() {
  const r = await new Receiver().start();
  receivers.push(r);
  return r;
}
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Every webhook the organization's log holds (all pages), once the (eventually consistent) index shows `count` of them. */
async function logIds(org: Org, count: number): Promise<string[]> {
  return eventually(
    async () => {
      const found: string[] = [];
      let cursor: string | null = null;
      do {
        const res: { status: number; body: { webhooks: { lago_id: string }[]; meta: { next_cursor: string | null } } } =
          await request('GET', `/api/v1/webhooks?per_page=100${cursor ? `&cursor=${cursor}` : ''}`, {
            token: org.apiKey,
          });
        if (res.status !== 200) return undefined;
        found.push(...res.body.webhooks.map((w) => w.lago_id));
        cursor = res.body.meta.next_cursor;
      } while (cursor);
      return found.length >= count ? found.sort() : undefined;
    },
    15_000,
    `${count} webhook(s) in the log`,
  );
}

const ids = (webhooks: Published[] | undefined) => (webhooks ?? []).map((w) => w.lago_id).sort();

describe('POST /admin/v1/webhooks/batch', () => {
  it('answers per event, accepts the valid ones, refuses the others in Lago shape, and delivers exactly the accepted ones', async () => {
    const acme = await createOrg('Batch Acme');
    const globex = await createOrg('Batch Globex');
    const quiet = await createOrg('Batch Quiet');
    const acmeReceiver = await receiver();
    const globexReceiver = await receiver();
    const acmeEndpoint = await createEndpoint(acme, { webhook_url: acmeReceiver.url, signature_algo: 'hmac' });
    await createEndpoint(globex, { webhook_url: globexReceiver.url, event_types: ['customer.created'] });
    const keys = await request<{ webhook: { hmac_key: string } }>('GET', '/api/v1/webhooks/hmac_key', {
      token: acme.apiKey,
    });
    const acmeKey = keys.body.webhook.hmac_key;

    const res = await batch([
      event(acme, 'invoice.created', { lago_id: 'inv_1', total_amount_cents: 1200 }, { idempotency_key: 'batch-k1' }),
      event(acme, 'invoice.nope', { lago_id: 'inv_2' }),
      event(randomUUID(), 'invoice.created', { lago_id: 'inv_3' }),
      { organization_id: acme.id, webhook_type: 'invoice.created', object_type: 'invoice' },
      event(globex, 'customer.created', { lago_id: 'cus_1', name: 'Zoë ✓' }),
      event(acme, 'invoice.created', { lago_id: 'inv_again' }, { idempotency_key: 'batch-k1' }),
      event(quiet, 'invoice.created', { lago_id: 'inv_4' }),
      event(globex, 'invoice.created', { lago_id: 'inv_5' }),
      event(acme, 'invoice.created', { lago_id: 'inv_big', blob: 'x'.repeat(300 * 1024) }),
    ]);
    expect(res.status, res.text).toBe(200);
    const results = res.body.results;
    expect(results.map((r) => [r.index, r.status])).toEqual([
      [0, 202],
      [1, 422],
      [2, 404],
      [3, 422],
      [4, 202],
      [5, 202],
      [6, 202],
      [7, 202],
      [8, 413],
    ]);
    expect(results[0]!.webhooks).toEqual([
      {
        lago_id: expect.any(String),
        lago_webhook_endpoint_id: acmeEndpoint,
        webhook_url: acmeReceiver.url,
        status: 'pending',
      },
    ]);
    expect(results[1]!.error).toEqual({
      status: 422,
      error: 'Unprocessable Entity',
      code: 'validation_errors',
      error_details: { webhook_type: ['value_is_invalid'] },
    });
    expect(results[2]!.error).toEqual({ status: 404, error: 'Not Found', code: 'organization_not_found' });
    expect(results[3]!.error).toEqual({
      status: 422,
      error: 'Unprocessable Entity',
      code: 'validation_errors',
      error_details: { object: ['value_is_mandatory'] },
    });
    expect(results[4]!.webhooks).toHaveLength(1);
    // The same key twice in one batch: one set of webhooks, the same answer for both.
    expect(results[5]!.webhooks).toEqual(results[0]!.webhooks);
    expect(results[6]!.webhooks).toEqual([]);
    expect(results[7]!.webhooks).toEqual([]);
    expect(results[8]!.error).toEqual({
      status: 413,
      error: 'Payload Too Large',
      message: 'the webhook payload exceeds 262144 bytes',
    });
    for (const r of results) expect(Boolean(r.webhooks) !== Boolean(r.error)).toBe(true);

    // The key again in a later batch: the same webhooks, nothing new; a new event beside it is accepted.
    const again = await batch([
      event(acme, 'invoice.created', { lago_id: 'inv_other' }, { idempotency_key: 'batch-k1' }),
      event(acme, 'invoice.generated', { lago_id: 'inv_6' }, { idempotency_key: 'batch-k2' }),
    ]);
    expect(again.status, again.text).toBe(200);
    expect(again.body.results[0]).toEqual({
      index: 0,
      status: 202,
      webhooks: [{ ...results[0]!.webhooks![0]!, status: expect.any(String) }],
    });
    expect(again.body.results[1]!.status).toBe(202);
    expect(again.body.results[1]!.webhooks).toHaveLength(1);

    const acmeIds = [...ids(results[0]!.webhooks), ...ids(again.body.results[1]!.webhooks)];
    for (const id of acmeIds) await webhookSettles(acme, id, ['succeeded']);
    await webhookSettles(globex, results[4]!.webhooks![0]!.lago_id, ['succeeded']);

    // Receivers got exactly the accepted events, signed, with Lago's envelope.
    expect(acmeReceiver.received.map((r) => r.body).sort()).toEqual(
      [
        envelope(acme, 'invoice.created', { lago_id: 'inv_1', total_amount_cents: 1200 }),
        envelope(acme, 'invoice.generated', { lago_id: 'inv_6' }),
      ].sort(),
    );
    for (const r of acmeReceiver.received)
      expect(r.headers['x-lago-signature']).toBe(createHmac('sha256', acmeKey).update(r.body).digest('base64'));
    expect(globexReceiver.received.map((r) => r.body)).toEqual([
      envelope(globex, 'customer.created', { lago_id: 'cus_1', name: 'Zoë ✓' }),
    ]);

    // The refused events created nothing.
    expect(await logIds(acme, 2)).toEqual(acmeIds.sort());
    expect(await logIds(globex, 1)).toEqual(ids(results[4]!.webhooks));
    expect(await logIds(quiet, 0)).toEqual([]);
  });

  it('writes a full batch of 100 events in a few transactions, replays it exactly, and concurrent duplicates never create two sets', async () => {
    const org = await createOrg('Batch Hundred');
    const first = await receiver();
    const second = await receiver();
    await createEndpoint(org, { webhook_url: first.url });
    await createEndpoint(org, { webhook_url: second.url });
    const events = Array.from({ length: 100 }, (_, i) =>
      event(org, 'invoice.created', { lago_id: `inv_${i}` }, { idempotency_key: `hundred-${i}` }),
    );

    // Half the batch is sent alone first, then the whole batch twice at the same time.
    const half = await batch(events.slice(0, 50));
    expect(half.status, half.text).toBe(200);
    const [a, b] = await Promise.all([batch(events), batch(events)]);
    expect(a.status, a.text).toBe(200);
    expect(b.status, b.text).toBe(200);
    for (const r of [...a.body.results, ...b.body.results]) expect(r.status, JSON.stringify(r)).toBe(202);
    expect(a.body.results.map((r) => ids(r.webhooks))).toEqual(b.body.results.map((r) => ids(r.webhooks)));
    expect(a.body.results.slice(0, 50).map((r) => ids(r.webhooks))).toEqual(
      half.body.results.map((r) => ids(r.webhooks)),
    );
    for (const r of a.body.results) expect(r.webhooks).toHaveLength(2);

    const all = a.body.results.flatMap((r) => ids(r.webhooks));
    expect(new Set(all).size).toBe(200);
    const distinctKeys = (r: Receiver) => new Set(r.received.map((x) => x.headers['x-lago-unique-key'])).size;
    await eventually(
      () => (distinctKeys(first) >= 100 && distinctKeys(second) >= 100 ? true : undefined),
      90_000,
      'every webhook at its receiver',
    );
    // Each event reached each receiver under one unique key. (SQS is at least once, and a replay sends
    // again a webhook it finds not yet attempted, so a receiver may see a key twice and dedupes on it.)
    for (const r of [first, second]) {
      const eventByKey = new Map(
        r.received.map((x) => [
          x.headers['x-lago-unique-key'] as string,
          (JSON.parse(x.body) as { invoice: { lago_id: string } }).invoice.lago_id,
        ]),
      );
      expect(eventByKey.size).toBe(100);
      expect(new Set(eventByKey.values()).size).toBe(100);
      for (const key of eventByKey.keys()) expect(all).toContain(key);
    }
    expect(await logIds(org, 200)).toEqual([...all].sort());
  }, 120_000);

  it('refuses a body that is not 1 to 100 events with a Lago 400, and an oversized request with a 413, creating nothing', async () => {
    const org = await createOrg('Batch Refused');
    const target = await receiver();
    await createEndpoint(org, { webhook_url: target.url });
    const tooMany = await batch(
      Array.from({ length: 101 }, (_, i) => event(org, 'invoice.created', { lago_id: `inv_${i}` })),
    );
    const expected = { status: 400, error: 'BadRequest: the body must be {"events":[...]} with 1 to 100 events' };
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toEqual(expected);
    for (const body of [{ events: [] }, {}, [event(org, 'invoice.created', { lago_id: 'inv_x' })], { events: 'all' }]) {
      const res = await admin('POST', '/admin/v1/webhooks/batch', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toEqual(expected);
    }
    const huge = await admin('POST', '/admin/v1/webhooks/batch', {
      events: [event(org, 'invoice.created', { blob: 'x'.repeat(600 * 1024) })],
    });
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ status: 413, error: 'Payload Too Large' });
    const unauthorized = await request('POST', '/admin/v1/webhooks/batch', {
      token: org.apiKey,
      body: { events: [event(org, 'invoice.created', { lago_id: 'inv_y' })] },
    });
    expect(unauthorized.status).toBe(401);

    // A publish after them is the first webhook the organization has.
    const after = await batch([event(org, 'invoice.created', { lago_id: 'inv_after' })]);
    const [received] = await target.waitFor(1);
    expect(JSON.parse(received!.body)).toMatchObject({ invoice: { lago_id: 'inv_after' } });
    expect(await logIds(org, 1)).toEqual(ids(after.body.results[0]!.webhooks));
    expect(target.received).toHaveLength(1);
  });
});

describe('batch publish while the queue refuses some messages', () => {
  it('answers 503 for the events not queued only, and a retry of the batch with the same keys delivers each event once', async () => {
    const isolated = await isolatedStack('batch-outage', {
      WEBHOOK_ALLOW_CIDRS: LOCAL_ALLOW_CIDRS.join(','),
      WEBHOOK_ALLOW_HTTP: 'true',
    });
    try {
      const token = isolated.local.adminToken;
      const orgs = await Promise.all(
        ['Up', 'Down'].map(async (name) => {
          const created = await isolated.call('POST', '/admin/v1/organizations', token, { name });
          return {
            id: (created.body.organization as { lago_id: string }).lago_id,
            apiKey: created.body.api_key as string,
          };
        }),
      );
      const [up, down] = [await receiver(), await receiver()];
      const endpoints = await Promise.all(
        [up, down].map(async (r, i) => {
          const res = await isolated.call('POST', '/api/v1/webhook_endpoints', orgs[i]!.apiKey, {
            webhook_endpoint: { webhook_url: r.url },
          });
          return (res.body.webhook_endpoint as { lago_id: string }).lago_id;
        }),
      );
      // Ten events fill the first SendMessageBatch call; the eleventh goes in a second call, which fails.
      const events = [
        ...Array.from({ length: 10 }, (_, i) =>
          event(orgs[0]!.id, 'invoice.created', { lago_id: `inv_up_${i}` }, { idempotency_key: `up-${i}` }),
        ),
        event(orgs[1]!.id, 'invoice.created', { lago_id: 'inv_down' }, { idempotency_key: 'down' }),
      ];

      const queue: DeliveryQueue = isolated.local.deps.queue;
      const send = queue.send.bind(queue);
      queue.send = async (lane, messages, delay) => {
        if (messages.some((m) => 'endpointId' in m && m.endpointId === endpoints[1]))
          throw new Error('SQS is unavailable');
        return send(lane, messages, delay);
      };
      const refused = await isolated.call('POST', '/admin/v1/webhooks/batch', token, { events });
      queue.send = send;
      expect(refused.status).toBe(200);
      const first = refused.body.results as Result[];
      expect(first.map((r) => r.status)).toEqual([...Array(10).fill(202), 503]);
      expect(first[10]).toEqual({
        index: 10,
        status: 503,
        error: {
          status: 503,
          error: 'Service Unavailable',
          message: 'the webhooks are stored but could not be queued; retry with the same idempotency_key',
        },
        webhooks: [
          {
            lago_id: expect.any(String),
            lago_webhook_endpoint_id: endpoints[1],
            webhook_url: down.url,
            status: 'pending',
          },
        ],
      });
      await up.waitFor(10);

      const retried = await isolated.call('POST', '/admin/v1/webhooks/batch', token, { events });
      const results = retried.body.results as Result[];
      expect(results.map((r) => r.status)).toEqual(Array(11).fill(202));
      expect(results.map((r) => ids(r.webhooks))).toEqual(first.map((r) => ids(r.webhooks)));
      const [got] = await down.waitFor(1);
      expect(JSON.parse(got!.body)).toMatchObject({ invoice: { lago_id: 'inv_down' } });
      await eventually(async () => {
        const res = await isolated.call(
          'GET',
          `/api/v1/webhooks/${results[10]!.webhooks![0]!.lago_id}`,
          orgs[1]!.apiKey,
        );
        return (res.body.webhook as { status: string }).status === 'succeeded' ? true : undefined;
      });
      // The replay sent only what had not been queued: one delivery each.
      const third = await isolated.call('POST', '/admin/v1/webhooks/batch', token, { events });
      expect((third.body.results as Result[]).map((r) => r.status)).toEqual(Array(11).fill(202));
      for (const r of first.slice(0, 10)) {
        await eventually(async () => {
          const res = await isolated.call('GET', `/api/v1/webhooks/${r.webhooks![0]!.lago_id}`, orgs[0]!.apiKey);
          return (res.body.webhook as { status: string }).status === 'succeeded' ? true : undefined;
        });
      }
      expect(up.received).toHaveLength(10);
      expect(down.received).toHaveLength(1);
    } finally {
      await isolated.stop();
    }
  }, 120_000);
});

/** The SQS emulator refuses each SendMessageBatch entry whose body carries `marker`, as SQS refuses a message with a character outside its set. */
const refuseEntriesCarrying = (marker: string): LocalServiceInstrument => ({
  sqs(client) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'SendMessageBatchCommand')
          for (const entry of (args.input as SendMessageBatchCommandInput).Entries ?? [])
            // U+FFFF, raw: a character SQS refuses, so the emulator fails this entry alone.
            if (entry.MessageBody?.includes(marker)) entry.MessageBody += '\uffff';
        return next(args);
      },
      { step: 'initialize', name: 'refuseMarkedEntries' },
    );
  },
});

describe('a batch with events whose message SQS refuses', () => {
  it('answers 503 for those events alone, listing their stored webhooks; every other event gets 202 and is delivered exactly once', async () => {
    const isolated = await isolatedStack(
      'batch-odd',
      { WEBHOOK_ALLOW_CIDRS: LOCAL_ALLOW_CIDRS.join(','), WEBHOOK_ALLOW_HTTP: 'true' },
      { instrument: refuseEntriesCarrying('refused-by-sqs') },
    );
    try {
      const token = isolated.local.adminToken;
      const created = await isolated.call('POST', '/admin/v1/organizations', token, { name: 'Odd' });
      const org = {
        id: (created.body.organization as { lago_id: string }).lago_id,
        apiKey: created.body.api_key as string,
      };
      const target = await receiver();
      const endpoint = await isolated.call('POST', '/api/v1/webhook_endpoints', org.apiKey, {
        webhook_endpoint: { webhook_url: target.url },
      });
      const endpointId = (endpoint.body.webhook_endpoint as { lago_id: string }).lago_id;
      // Ten events, one SendMessageBatch call: event 4 (with a key) and event 7 (without) are refused by SQS.
      const events = Array.from({ length: 10 }, (_, i) =>
        event(
          org.id,
          'invoice.created',
          { lago_id: `inv_${i}`, ...(i === 4 || i === 7 ? { note: 'refused-by-sqs' } : {}) },
          i === 4 ? { idempotency_key: 'odd-4' } : {},
        ),
      );
      const res = await isolated.call('POST', '/admin/v1/webhooks/batch', token, { events });
      expect(res.status).toBe(200);
      const results = res.body.results as Result[];
      expect(results.map((r) => r.status)).toEqual([202, 202, 202, 202, 503, 202, 202, 503, 202, 202]);
      const stored = [
        {
          lago_id: expect.any(String),
          lago_webhook_endpoint_id: endpointId,
          webhook_url: target.url,
          status: 'pending',
        },
      ];
      // Each refused event's answer says its webhooks are stored, lists them, and tells whether publishing again is safe.
      expect(results[4]).toEqual({
        index: 4,
        status: 503,
        error: {
          status: 503,
          error: 'Service Unavailable',
          message: 'the webhooks are stored but could not be queued; retry with the same idempotency_key',
        },
        webhooks: stored,
      });
      expect(results[7]).toEqual({
        index: 7,
        status: 503,
        error: {
          status: 503,
          error: 'Service Unavailable',
          message:
            'the webhooks are stored but could not be queued; the sweeper will send them: publishing the event again would send it twice',
        },
        webhooks: stored,
      });

      const accepted = results.filter((r) => r.status === 202).flatMap((r) => ids(r.webhooks));
      expect(accepted).toHaveLength(8);
      const settled = async (id: string) =>
        eventually(async () => {
          const got = await isolated.call('GET', `/api/v1/webhooks/${id}`, org.apiKey);
          return (got.body.webhook as { status: string }).status === 'succeeded' ? true : undefined;
        });
      for (const id of accepted) await settled(id);
      const uniqueKeys = () => target.received.map((r) => r.headers['x-lago-unique-key'] as string).sort();
      expect(uniqueKeys()).toEqual(accepted.sort());
      // The refused events' webhooks wait, stored and unsent, for the sweeper.
      for (const i of [4, 7]) {
        const got = await isolated.call('GET', `/api/v1/webhooks/${results[i]!.webhooks![0]!.lago_id}`, org.apiKey);
        expect(got.body.webhook).toMatchObject({ status: 'pending', attempts: [] });
      }

      // The publisher of event 4 trusts its 503 and publishes it again with its key: the same webhook, delivered once.
      const again = await isolated.call('POST', '/admin/v1/webhooks/batch', token, { events: [events[4]] });
      const [replayed] = again.body.results as Result[];
      expect(replayed).toMatchObject({ index: 0, status: 202 });
      expect(ids(replayed!.webhooks)).toEqual(ids(results[4]!.webhooks));
      await settled(results[4]!.webhooks![0]!.lago_id);
      expect(uniqueKeys()).toEqual([...accepted, ...ids(results[4]!.webhooks)].sort());
    } finally {
      await isolated.stop();
    }
  }, 120_000);
});

describe('npm run cli -- publish --file', () => {
  async function cli(args: string[]) {
    const child = spawn(process.execPath, [join(process.cwd(), 'bin/cli.ts'), ...args, '--url', stack().url], {
      env: { ...process.env, ADMIN_TOKEN: stack().adminToken },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    return { code, output };
  }

  it('publishes a JSON-lines file through the batch route, prints a line per event, and exits 1 when one was refused', async () => {
    const org = await createOrg('Batch CLI');
    const target = await receiver();
    const endpoint = await createEndpoint(org, { webhook_url: target.url });
    const dir = await mkdtemp(join(tmpdir(), 'lago-webhooks-batch-cli-'));
    dirs.push(dir);
    // 105 events: two requests. The last one is refused.
    const events = [
      ...Array.from({ length: 104 }, (_, i) =>
        event(org, 'invoice.created', { lago_id: `inv_cli_${i}` }, { idempotency_key: `cli-${i}` }),
      ),
      event(org, 'invoice.nope', { lago_id: 'bad' }),
    ];
    const file = join(dir, 'events.jsonl');
    await writeFile(file, `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);

    const human = await cli(['publish', '--file', file]);
    expect(human.code, human.output).toBe(1);
    const lines = human.output.trim().split('\n');
    expect(lines).toHaveLength(106);
    expect(lines[0]).toMatch(new RegExp(`^#0 202 queued \\S+ -> ${target.url.replace(/[.]/g, '\\.')}$`));
    expect(lines[104]).toBe('#104 422 refused: {"webhook_type":["value_is_invalid"]}');
    expect(lines[105]).toBe('105 event(s): 104 accepted, 1 refused');
    await target.waitFor(104, 60_000);

    // --json: the results, indexed from the start of the file; the keys make the second run a replay.
    const file2 = join(dir, 'events.json');
    await writeFile(file2, JSON.stringify(events.slice(0, 2)));
    const json = await cli(['publish', '--file', file2, '--json']);
    expect(json.code, json.output).toBe(0);
    const parsed = JSON.parse(json.output) as { results: Result[] };
    expect(parsed.results.map((r) => [r.index, r.status, r.webhooks?.[0]?.lago_webhook_endpoint_id])).toEqual([
      [0, 202, endpoint],
      [1, 202, endpoint],
    ]);
    expect(parsed.results[0]!.webhooks![0]!.lago_id).toBe(/^#0 202 queued (\S+)/.exec(lines[0]!)![1]);

    const bad = await cli(['publish', '--file', join(dir, 'missing.json')]);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain('cannot read');
  }, 120_000);
});
