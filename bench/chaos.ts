/**
 * The chaos run behind `test/integration/chaos.test.ts` (small) and `npm run soak` (5,000 events):
 * the whole local service as a user starts it (`node bin/local.ts`, in its own process group),
 * receivers on loopback that answer at random 200, 500, 429, hang, reset or are down for a while,
 * events published through the single and the batch route while the service's process group is
 * SIGKILLed and restarted on the same data. Then the receivers heal and the run checks that every
 * accepted webhook settles, none is lost, every success reached its receiver with valid signatures,
 * and every failure is recovered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { LANES, visibilityTimeoutSeconds } from '#shared/domain/delivery/policy.ts';
import { freePort } from '#infra/local/emulators.ts';
import { generateAdminToken } from '#infra/local/env.ts';
import { seeded } from './random.ts';

export interface ChaosOptions {
  /** Events published; each goes to one endpoint. */
  events: number;
  /** Events published per second, paced, so the backlog stays what the service drains. @default 20 */
  rate?: number;
  /** Seeds the receivers' answers and the order of routes, so a run can be replayed. @default 11 */
  seed?: number;
  /** Progress lines (stderr for the soak, nothing in the test). @default - silent */
  progress?: (line: string) => void;
}

export interface ChaosResult {
  events: number;
  /** Events answered 2xx (each gives one webhook). */
  accepted: number;
  /** Events never answered 2xx after every try. */
  refused: number;
  kills: number;
  /** Kills the service made of itself inside a publish, between its store write and its queue send. */
  killsInPublish: number;
  /** Webhooks stored by the publish killed inside (never answered, sent without an idempotency key, so never retried). */
  storedUnanswered: number;
  /** Of those, still not succeeded or failed at the end. */
  storedUnansweredLive: string[];
  /** From the kill inside publish until every webhook it stored was succeeded or failed. */
  storedUnansweredSettleSeconds: number;
  /** Requests a receiver had open when the service was killed, per kill. */
  inFlightAtKills: number[];
  /** Webhooks that ended succeeded / failed before recovery. */
  succeeded: number;
  failed: number;
  recovered: number;
  /** Events answered 2xx without their webhook (each event's type has one subscribed endpoint). */
  emptyAnswers: number[];
  /** Accepted webhooks the API never showed, or still pending or retrying at the settle deadline. */
  lost: string[];
  stuck: string[];
  /** Succeeded webhooks whose receiver never answered 200 to a validly signed POST of it. */
  notReceived: string[];
  /** Still not succeeded after recovery. */
  unrecovered: string[];
  /** POSTs whose HMAC or Standard Webhooks signature did not verify. */
  invalidSignatures: number;
  /** 200 answers beyond the first per unique key: what a receiver sees twice. */
  duplicates: number;
  /** POSTs received in all, answered anything. */
  deliveries: number;
  /** From the last restart until every accepted webhook was succeeded or failed. */
  settleSeconds: number;
  /** The bound: the longest lane visibility timeout plus one minute. */
  settleBoundSeconds: number;
  visibilityTimeoutSeconds: number;
  durationSeconds: number;
}

/** The service's delivery settings for the run: short, so a run takes minutes, not hours. */
export const CHAOS_DELIVERY = { retrySchedule: '1,2,3', timeoutMs: 2000, fastLaneMs: 1000, slowAfterMs: 500 } as const;
const TYPES = ['invoice.created', 'invoice.generated', 'invoice.drafted', 'invoice.deleted'] as const;
const PUBLISHERS = 4;
const BATCH_SIZE = 10;
/** Kills happen once this share of the events is accepted. */
const KILL_AT = [0.4, 0.9];
/** Receiver 0 is down between these shares of accepted events. */
const DOWN_BETWEEN = [0.15, 0.3];
const MAX_TRIES = 20;
/** Events of the publish killed inside (one batch, no idempotency key). */
const KILLED_PUBLISH_EVENTS = 5;
/**
 * How soon the webhooks of a publish killed between its store write and its queue send settle
 * (docs/delivery.md, "Nothing waits forever"): its intent's minute is checked once the minute after
 * it is over (30 s margin) by the next sweep (every minute), at most 4.5 minutes after the publish;
 * here also the restart before the sweeper runs again, and the attempts.
 */
export const RESCUE_BOUND_SECONDS = 6 * 60;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns something; throws after `timeoutMs`. */
async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined> | T | undefined,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createNetServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** True while any process of the group is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// The service, as a user runs it

interface ServicePorts {
  api: number;
  dynamoDb: number;
  sqs: number;
}

/** `npm start` in a child process, on fixed ports and its own DATA_DIR, so it can be killed and started again on the same data. */
export class Service {
  private child: ChildProcess | undefined;
  private output = '';
  readonly url: string;
  private readonly dataDir: string;
  private readonly ports: ServicePorts;
  readonly adminToken: string;
  /** More environment for the service (delivery settings). */
  private readonly env: Record<string, string>;

  constructor(dataDir: string, ports: ServicePorts, adminToken: string, env: Record<string, string> = {}) {
    this.dataDir = dataDir;
    this.ports = ports;
    this.adminToken = adminToken;
    this.env = env;
    this.url = `http://127.0.0.1:${ports.api}`;
  }

  /** A service on free ports in a new temporary DATA_DIR. */
  static async create(env: Record<string, string> = {}): Promise<{ service: Service; dataDir: string }> {
    const dataDir = await mkdtemp(join(tmpdir(), 'lago-webhooks-service-'));
    const ports = { api: await freePort(), dynamoDb: await freePort(), sqs: await freePort() };
    return { service: new Service(dataDir, ports, generateAdminToken(), env), dataDir };
  }

  /** `node bin/local.ts` in a process group of its own, so one signal reaches DynamoDB Local (Java) too; `env` for this start only. */
  async start(env: Record<string, string> = {}): Promise<void> {
    this.output = '';
    const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'bin', 'local.ts')], {
      cwd: join(import.meta.dirname, '..'),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PORT: String(this.ports.api),
        DYNAMODB_PORT: String(this.ports.dynamoDb),
        SQS_PORT: String(this.ports.sqs),
        DYNAMODB_ENDPOINT: '',
        SQS_ENDPOINT: '',
        DATA_DIR: this.dataDir,
        ADMIN_TOKEN: this.adminToken,
        LOG_LEVEL: 'warn',
        WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8',
        ...this.env,
        ...env,
      },
    });
    this.child = child;
    // Only the last few KB are kept, for an error message.
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-8_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    await until('the service to start', 180_000, () => {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`the service exited (${child.exitCode ?? child.signalCode}):\n${this.output}`);
      return this.output.includes('Ctrl-C stops everything') ? true : undefined;
    });
  }

  /** Settles when the running service exits by itself (or is killed). */
  exited(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** SIGKILL to the whole group (API, pollers, fauxqs in process, DynamoDB Local), then proof that nothing of it survived. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    const exited =
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is already gone
    }
    await exited;
    await until('every process of the killed service to exit', 30_000, () =>
      groupAlive(child.pid!) ? undefined : true,
    );
    for (const port of [this.ports.api, this.ports.dynamoDb, this.ports.sqs]) {
      await until(`port ${port} to be free after the kill`, 30_000, async () =>
        (await portIsFree(port)) ? true : undefined,
      );
    }
    this.child = undefined;
  }

  /** Ends it for good (the run is over or failed). */
  stop(): Promise<void> {
    return this.kill();
  }

  async request<T>(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    return { status: response.status, body: parsed as T };
  }
}

// ---------------------------------------------------------------------------------------------
// Receivers

type Answer = 'ok' | 'error' | 'rate-limited' | 'hang' | 'reset';

interface Signing {
  hmacKey: string;
  standardWebhooks: Webhook;
}

/** A receiver on loopback that verifies both signatures of every POST and answers as the dice say until it is healed. */
class ChaosReceiver {
  private server: Server | undefined;
  private readonly hanging = new Set<ServerResponse>();
  port = 0;
  healthy = false;
  open = 0;
  deliveries = 0;
  invalidSignatures = 0;
  /** 200 answers per unique key, counted only for validly signed POSTs. */
  readonly ok = new Map<string, number>();
  signing: Signing | undefined;

  private readonly random: () => number;
  private readonly hangMs: number;

  /** A broken receiver fails fast every time (500 or reset) until healed, so its webhooks run out of attempts. */
  private readonly broken: boolean;

  constructor(random: () => number, hangMs: number, broken = false) {
    this.random = random;
    this.hangMs = hangMs;
    this.broken = broken;
  }

  get url() {
    return `http://127.0.0.1:${this.port}/webhooks`;
  }

  async listen(): Promise<void> {
    const server = createHttpServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Down: the port refuses connections until `listen` again. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  get down() {
    return this.server === undefined;
  }

  private answer(): Answer {
    if (this.healthy) return 'ok';
    const r = this.random();
    if (this.broken) return r < 0.5 ? 'error' : 'reset';
    if (r < 0.45) return 'ok';
    if (r < 0.65) return 'error';
    if (r < 0.77) return 'rate-limited';
    if (r < 0.88) return 'hang';
    return 'reset';
  }

  private verified(raw: string, req: IncomingMessage): boolean {
    if (!this.signing) return false;
    const given = Buffer.from(String(req.headers['x-lago-signature'] ?? ''), 'base64');
    const expected = createHmac('sha256', this.signing.hmacKey).update(raw).digest();
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
    try {
      this.signing.standardWebhooks.verify(raw, {
        'webhook-id': String(req.headers['webhook-id'] ?? ''),
        'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
      });
      return true;
    } catch {
      return false;
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.open++;
    res.once('close', () => this.open--);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      return; // the sender gave up mid-body
    }
    this.deliveries++;
    const raw = Buffer.concat(chunks).toString('utf8');
    const key = String(req.headers['x-lago-unique-key'] ?? '');
    const valid = this.verified(raw, req);
    if (!valid) {
      this.invalidSignatures++;
      res.writeHead(401).end();
      return;
    }
    const answer = this.answer();
    if (answer === 'ok') {
      this.ok.set(key, (this.ok.get(key) ?? 0) + 1);
      res.writeHead(200).end();
    } else if (answer === 'error') res.writeHead(500).end('chaos');
    else if (answer === 'rate-limited') res.writeHead(429, { 'retry-after': '1' }).end();
    else if (answer === 'reset') req.socket.resetAndDestroy();
    else {
      // Past the sender's timeout, then the connection is dropped without an answer.
      this.hanging.add(res);
      setTimeout(() => {
        this.hanging.delete(res);
        res.destroy();
      }, this.hangMs).unref();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Publishing

interface Org {
  id: string;
  apiKey: string;
}

interface PublishedWebhook {
  lago_id: string;
  lago_webhook_endpoint_id: string;
}

type SingleAnswer = { webhooks: PublishedWebhook[] };
type BatchAnswer = { results: { index: number; status: number; webhooks?: PublishedWebhook[] }[] };

interface ListAnswer {
  webhooks: { lago_id: string; status: string }[];
  meta: { next_cursor: string | null };
}

/** Every webhook of the organization in the given statuses, page by page. */
async function listByStatus(service: Service, org: Org, statuses: string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  let cursor: string | null = null;
  do {
    const query: URLSearchParams = new URLSearchParams({
      statuses: statuses.join(','),
      per_page: '100',
      ...(cursor ? { cursor } : {}),
    });
    const res: { status: number; body: ListAnswer } = await service.request<ListAnswer>(
      'GET',
      `/api/v1/webhooks?${query}`,
      org.apiKey,
    );
    if (res.status !== 200) throw new Error(`listing webhooks answered ${res.status}: ${JSON.stringify(res.body)}`);
    for (const webhook of res.body.webhooks) found.set(webhook.lago_id, webhook.status);
    cursor = res.body.meta.next_cursor;
  } while (cursor);
  return found;
}

/** The accepted webhooks not yet succeeded or failed; `undefined` entries are ones the API does not show at all. */
async function unsettled(
  service: Service,
  org: Org,
  accepted: Set<string>,
): Promise<{ live: string[]; missing: string[]; statuses: Map<string, string> }> {
  const live = [...(await listByStatus(service, org, ['pending', 'retrying'])).keys()].filter((id) => accepted.has(id));
  if (live.length > 0) return { live, missing: [], statuses: new Map() };
  const statuses = await listByStatus(service, org, ['succeeded', 'failed']);
  const missing: string[] = [];
  for (const id of accepted) {
    if (statuses.has(id)) continue;
    // Indexes may lag a write: the item read by key decides.
    const one = await service.request<{ webhook: { status: string } }>('GET', `/api/v1/webhooks/${id}`, org.apiKey);
    if (one.status === 200 && (one.body.webhook.status === 'succeeded' || one.body.webhook.status === 'failed'))
      statuses.set(id, one.body.webhook.status);
    else if (one.status === 200) live.push(id);
    else missing.push(id);
  }
  return { live, missing, statuses };
}

// ---------------------------------------------------------------------------------------------
// The run

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const started = Date.now();
  const log = options.progress ?? (() => {});
  const random = seeded(options.seed ?? 11);
  const visibility = Math.max(...LANES.map((lane) => visibilityTimeoutSeconds(lane, CHAOS_DELIVERY)));
  const settleBoundSeconds = visibility + 60;
  const { service, dataDir } = await Service.create({
    WEBHOOK_RETRY_SCHEDULE: CHAOS_DELIVERY.retrySchedule,
    WEBHOOK_TIMEOUT_MS: String(CHAOS_DELIVERY.timeoutMs),
    WEBHOOK_FAST_LANE_MS: String(CHAOS_DELIVERY.fastLaneMs),
    WEBHOOK_SLOW_AFTER_MS: String(CHAOS_DELIVERY.slowAfterMs),
  });
  // Receivers 0 to 2 answer at random (0 is also down for a while); 3 fails every POST until healed.
  const receivers = TYPES.map(
    (_, i) => new ChaosReceiver(random, CHAOS_DELIVERY.timeoutMs + 1_000, i === TYPES.length - 1),
  );
  try {
    for (const receiver of receivers) await receiver.listen();
    await service.start();
    log(`service up at ${service.url} (data in ${dataDir})`);

    // One organization, one HMAC endpoint per receiver, each subscribed to one event type.
    const created = await service.request<{ organization: { lago_id: string }; api_key: string }>(
      'POST',
      '/admin/v1/organizations',
      service.adminToken,
      { name: 'Chaos' },
    );
    if (created.status !== 201) throw new Error(`organization not created: ${created.status}`);
    const org: Org = { id: created.body.organization.lago_id, apiKey: created.body.api_key };
    const endpointIds: string[] = [];
    for (const [i, receiver] of receivers.entries()) {
      const res = await service.request<{ webhook_endpoint: { lago_id: string } }>(
        'POST',
        '/api/v1/webhook_endpoints',
        org.apiKey,
        {
          webhook_endpoint: {
            webhook_url: receiver.url,
            signature_algo: 'hmac',
            event_types: [TYPES[i]],
            name: `chaos ${i}`,
          },
        },
      );
      if (res.status !== 200) throw new Error(`endpoint not created: ${res.status} ${JSON.stringify(res.body)}`);
      endpointIds.push(res.body.webhook_endpoint.lago_id);
    }
    const keys = await service.request<{ webhook: { hmac_key: string; standard_webhooks_secret: string } }>(
      'GET',
      '/api/v1/webhooks/hmac_key',
      org.apiKey,
    );
    const signing: Signing = {
      hmacKey: keys.body.webhook.hmac_key,
      standardWebhooks: new Webhook(keys.body.webhook.standard_webhooks_secret),
    };
    for (const receiver of receivers) receiver.signing = signing;

    // Publishers take events in order; a kill pauses them until the service is back.
    const accepted = new Set<string>();
    /** How each webhook was accepted, to tell where a lost one came from. */
    const acceptedHow = new Map<string, string>();
    /** Events answered 2xx without a webhook, though one endpoint subscribes to each type. */
    const emptyAnswers = new Set<number>();
    const killTimes: number[] = [];
    const relative = (at: number) =>
      killTimes.map((k, n) => `${((at - k) / 1000).toFixed(1)} s after kill ${n + 1}`).join(', ') || 'before any kill';
    const eventsAccepted = new Set<number>();
    let refused = 0;
    let next = 0;
    let ready: Promise<void> = Promise.resolve();
    let lastRestart = Date.now();
    const inFlightAtKills: number[] = [];
    const killsDue = KILL_AT.map((share) => Math.max(1, Math.floor(share * options.events)));
    const event = (i: number, keyed = true) => ({
      organization_id: org.id,
      webhook_type: TYPES[i % TYPES.length],
      object_type: 'invoice',
      object: { lago_id: `inv_chaos_${i}`, total_amount_cents: i },
      ...(keyed ? { idempotency_key: `chaos-${i}` } : {}),
    });
    let killsInPublish = 0;
    let killedInPublishAt = 0;
    // The service armed to kill itself in its first publish, between the store write and the queue send: a batch
    // without idempotency keys, never answered and never retried, whose stored webhooks only the sweeper can queue.
    const killInsidePublish = async () => {
      await service.start({ CHAOS_KILL_IN_PUBLISH: '1' });
      const exited = service.exited();
      const events = Array.from({ length: KILLED_PUBLISH_EVENTS }, (_, k) => event(options.events + k, false));
      const status = await service.request('POST', '/admin/v1/webhooks/batch', service.adminToken, { events }).then(
        (res) => res.status,
        () => undefined,
      );
      if (status !== undefined) throw new Error(`the publish armed to kill the service was answered ${status}`);
      await until('the service to kill itself inside the publish', 60_000, async () =>
        (await Promise.race([exited.then(() => true), sleep(100).then(() => undefined)])) ? true : undefined,
      );
      killedInPublishAt = Date.now();
      killsInPublish++;
      await service.kill();
      log(
        `kill in publish: the service SIGKILLed its group between storing ${KILLED_PUBLISH_EVENTS} events and queueing them; restarting`,
      );
      await service.start();
    };

    // Paced: event i is due at publishStart + i / rate; a kill's downtime moves the schedule back.
    const rate = options.rate ?? 20;
    let publishStart = Date.now();
    let restarting: Promise<void> | undefined;
    const crash = (): Promise<void> => {
      restarting ??= (async () => {
        // Before the first kill, some webhooks of the broken receiver have run out of attempts (bounded wait), so recovery is exercised.
        if (killTimes.length === 0) {
          await until(
            'a webhook to fail',
            30_000,
            async () => ((await listByStatus(service, org, ['failed'])).size > 0 ? true : undefined),
            500,
          ).catch(() => log('no webhook failed within 30 s'));
        }
        // Mid-flight: wait (bounded) until a receiver holds a request open, so an attempt is cut by the kill.
        const deadline = Date.now() + 5_000;
        while (receivers.every((r) => r.open === 0) && Date.now() < deadline) await sleep(20);
        inFlightAtKills.push(receivers.reduce((sum, r) => sum + r.open, 0));
        killTimes.push(Date.now());
        const killedAt = Date.now();
        await service.kill();
        log(
          `kill ${inFlightAtKills.length}: SIGKILL to the service's process group after ${eventsAccepted.size} accepted events, ${inFlightAtKills.at(-1)} requests open at receivers; no process left, ports free; restarting on the same data`,
        );
        // After the first kill, the next start kills itself inside a publish once before it serves the publishers again.
        if (killTimes.length === 1) await killInsidePublish();
        else await service.start();
        lastRestart = Date.now();
        publishStart += lastRestart - killedAt;
        log(`restarted, ${((lastRestart - killedAt) / 1000).toFixed(1)} s after the kill`);
      })().finally(() => (restarting = undefined));
      ready = restarting;
      return restarting;
    };

    // Receiver 0 goes down once for a share of the events; one publisher at a time switches it.
    const outage = { started: false, ended: false, switching: false };
    const afterAccepted = async () => {
      const done = eventsAccepted.size;
      // Not while a restart is under way: its kill would be folded into that one (a loaded machine accepts the next
      // share of events before the first kill is over); the kills still due are made once publishing is done.
      if (!restarting && killsDue.length > 0 && done >= killsDue[0]!) {
        killsDue.shift();
        void crash();
      }
      if (outage.switching) return;
      outage.switching = true;
      const down = receivers[0]!;
      if (!outage.started && done >= DOWN_BETWEEN[0]! * options.events) {
        outage.started = true;
        log(`receiver 0 down after ${done} accepted events`);
        await down.close();
      } else if (outage.started && !outage.ended && done >= DOWN_BETWEEN[1]! * options.events) {
        outage.ended = true;
        await down.listen();
        log(`receiver 0 back on the same port after ${done} accepted events`);
      }
      outage.switching = false;
    };

    const publishOne = async (i: number): Promise<boolean> => {
      try {
        const res = await service.request<SingleAnswer>('POST', '/admin/v1/webhooks', service.adminToken, event(i));
        if (res.status < 200 || res.status >= 300) return false;
        if (res.body.webhooks.length === 0) emptyAnswers.add(i);
        for (const webhook of res.body.webhooks) {
          accepted.add(webhook.lago_id);
          acceptedHow.set(webhook.lago_id, `event ${i}, single route, ${relative(Date.now())}`);
        }
        eventsAccepted.add(i);
        return true;
      } catch {
        return false; // connection refused or reset by a kill: tried again with the same key
      }
    };

    const publishBatch = async (indexes: number[]): Promise<number[]> => {
      try {
        const res = await service.request<BatchAnswer>('POST', '/admin/v1/webhooks/batch', service.adminToken, {
          events: indexes.map((i) => event(i)),
        });
        if (res.status !== 200) return indexes;
        const left: number[] = [];
        for (const result of res.body.results) {
          const i = indexes[result.index]!;
          if (result.status >= 200 && result.status < 300) {
            if (!result.webhooks?.length) emptyAnswers.add(i);
            for (const webhook of result.webhooks ?? []) {
              accepted.add(webhook.lago_id);
              acceptedHow.set(webhook.lago_id, `event ${i}, batch route, ${relative(Date.now())}`);
            }
            eventsAccepted.add(i);
          } else left.push(i);
        }
        return left;
      } catch {
        return indexes;
      }
    };

    const publisher = async () => {
      for (;;) {
        await ready;
        if (next >= options.events) return;
        const batch = random() < 0.5;
        const take = batch ? Math.min(BATCH_SIZE, options.events - next) : 1;
        let pending = Array.from({ length: take }, (_, k) => next + k);
        next += take;
        const due = publishStart + ((pending.at(-1)! + 1) / rate) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
        for (let tries = 0; pending.length > 0 && tries < MAX_TRIES; tries++) {
          if (tries > 0) await sleep(200);
          await ready;
          pending =
            pending.length === 1 && !batch
              ? (await publishOne(pending[0]!))
                ? []
                : pending
              : await publishBatch(pending);
          await afterAccepted();
        }
        refused += pending.length;
      }
    };
    await Promise.all(Array.from({ length: PUBLISHERS }, publisher));
    await ready;
    // Kills still due (the events were all accepted first): made now, while the retries are in flight.
    while (killsDue.length > 0) {
      killsDue.shift();
      await crash();
    }
    log(
      `published: ${eventsAccepted.size} of ${options.events} events accepted (${accepted.size} webhooks), ${refused} refused`,
    );

    // Every receiver healthy again, then every accepted webhook must settle within the bound.
    for (const receiver of receivers) {
      if (receiver.down) await receiver.listen();
      receiver.healthy = true;
    }
    let live: string[] = [];
    let missing: string[] = [];
    let statuses = new Map<string, string>();
    let settledAt: number | undefined;
    const hardStop = lastRestart + (settleBoundSeconds + 120) * 1000;
    for (;;) {
      ({ live, missing, statuses } = await unsettled(service, org, accepted));
      if (live.length === 0 && missing.length === 0) {
        settledAt = Date.now();
        break;
      }
      if (Date.now() > hardStop) break;
      log(
        `settling: ${live.length} live, ${missing.length} not found, ${Math.round((Date.now() - lastRestart) / 1000)} s after the last restart`,
      );
      await sleep(2_000);
    }
    const settleSeconds = ((settledAt ?? Date.now()) - lastRestart) / 1000;
    // The accepted webhooks only: those of the publish killed inside are checked on their own below.
    const succeededIds = [...statuses].filter(([id, s]) => s === 'succeeded' && accepted.has(id)).map(([id]) => id);
    const failedIds = [...statuses].filter(([id, s]) => s === 'failed' && accepted.has(id)).map(([id]) => id);
    const receivedOk = new Set(receivers.flatMap((r) => [...r.ok.keys()]));
    const notReceived = succeededIds.filter((id) => !receivedOk.has(id));
    log(
      `${settledAt ? 'settled' : 'not settled'} ${settleSeconds.toFixed(1)} s after the last restart: ${succeededIds.length} succeeded, ${failedIds.length} failed`,
    );
    for (const id of missing) log(`not found: ${id} (${acceptedHow.get(id)})`);

    // The webhooks the killed publish stored (never answered): the sweeper finds and queues them, bounded.
    let storedUnanswered: string[] = [];
    let storedUnansweredLive: string[] = [];
    let storedUnansweredSettledAt: number | undefined;
    for (;;) {
      const all = await listByStatus(service, org, ['pending', 'retrying', 'succeeded', 'failed']);
      storedUnanswered = [...all.keys()].filter((id) => !accepted.has(id));
      storedUnansweredLive = storedUnanswered.filter((id) => all.get(id) === 'pending' || all.get(id) === 'retrying');
      if (storedUnansweredLive.length === 0) {
        storedUnansweredSettledAt = Date.now();
        break;
      }
      if (Date.now() > killedInPublishAt + (RESCUE_BOUND_SECONDS + 60) * 1000) break;
      log(`${storedUnansweredLive.length} webhooks of the publish killed inside still live`);
      await sleep(5_000);
    }

    // Recovery: every endpoint's failed webhooks of the run's window, queued again.
    let recovered = 0;
    const window = {
      from_date: new Date(started - 3_600_000).toISOString(),
      to_date: new Date(Date.now() + 3_600_000).toISOString(),
    };
    for (const endpointId of endpointIds) {
      for (let more = true; more;) {
        const res = await service.request<{ recovered: number; has_more: boolean }>(
          'POST',
          '/api/v1/webhooks/recover',
          org.apiKey,
          { webhook_endpoint_id: endpointId, ...window },
        );
        if (res.status !== 200) throw new Error(`recover answered ${res.status}: ${JSON.stringify(res.body)}`);
        recovered += res.body.recovered;
        more = res.body.has_more;
      }
    }
    let unrecovered: string[] = failedIds;
    if (failedIds.length > 0) {
      await until(
        'the recovered webhooks to succeed',
        120_000 + failedIds.length * 100,
        async () => {
          const now = await listByStatus(service, org, ['succeeded']);
          unrecovered = failedIds.filter((id) => !now.has(id));
          return unrecovered.length === 0 ? true : undefined;
        },
        1_000,
      ).catch(() => undefined);
    }
    const receivedAfterRecovery = new Set(receivers.flatMap((r) => [...r.ok.keys()]));
    notReceived.push(...failedIds.filter((id) => !unrecovered.includes(id) && !receivedAfterRecovery.has(id)));

    return {
      events: options.events,
      accepted: eventsAccepted.size,
      refused,
      kills: inFlightAtKills.length,
      killsInPublish,
      storedUnanswered: storedUnanswered.length,
      storedUnansweredLive,
      storedUnansweredSettleSeconds: ((storedUnansweredSettledAt ?? Date.now()) - killedInPublishAt) / 1000,
      inFlightAtKills,
      succeeded: succeededIds.length,
      failed: failedIds.length,
      recovered,
      emptyAnswers: [...emptyAnswers],
      lost: missing,
      stuck: live,
      notReceived,
      unrecovered,
      invalidSignatures: receivers.reduce((sum, r) => sum + r.invalidSignatures, 0),
      duplicates: receivers.reduce((sum, r) => sum + [...r.ok.values()].reduce((extra, n) => extra + n - 1, 0), 0),
      deliveries: receivers.reduce((sum, r) => sum + r.deliveries, 0),
      settleSeconds,
      settleBoundSeconds,
      visibilityTimeoutSeconds: visibility,
      durationSeconds: (Date.now() - started) / 1000,
    };
  } finally {
    await service.stop().catch(() => {});
    await Promise.all(receivers.map((r) => r.close()));
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** One line with the figures. */
export function summarize(r: ChaosResult): string {
  return (
    `chaos: ${r.events} events, ${r.accepted} accepted, ${r.refused} refused; ${r.kills} kills (${r.inFlightAtKills.join(', ')} requests open at receivers); ` +
    `${r.killsInPublish} kill inside a publish: ${r.storedUnanswered} webhooks stored unanswered, ${r.storedUnansweredLive.length} still live, settled ${r.storedUnansweredSettleSeconds.toFixed(1)} s after it (bound ${RESCUE_BOUND_SECONDS} s); ` +
    `${r.succeeded} succeeded, ${r.failed} failed -> ${r.failed - r.unrecovered.length} recovered to succeeded (${r.recovered} queued by recover); ` +
    `${r.lost.length + r.emptyAnswers.length} lost, ${r.stuck.length} stuck, ${r.notReceived.length} succeeded without a verified receipt, ${r.invalidSignatures} invalid signatures; ` +
    `${r.deliveries} POSTs received, ${r.duplicates} duplicates; settled ${r.settleSeconds.toFixed(1)} s after the last restart (bound ${r.settleBoundSeconds} s: visibility timeout ${r.visibilityTimeoutSeconds} s + 60 s); ${r.durationSeconds.toFixed(0)} s in all`
  );
}

/** What broke the promises, if anything: an empty list means the run passed. */
export function problems(r: ChaosResult): string[] {
  const found: string[] = [];
  if (r.kills < 2) found.push(`only ${r.kills} kills`);
  if (r.killsInPublish < 1) found.push('no kill inside a publish');
  if (r.storedUnanswered !== KILLED_PUBLISH_EVENTS)
    found.push(`${r.storedUnanswered} webhooks stored by the killed publish, expected ${KILLED_PUBLISH_EVENTS}`);
  if (r.storedUnansweredLive.length)
    found.push(
      `${r.storedUnansweredLive.length} webhooks of the killed publish never sent: ${r.storedUnansweredLive.slice(0, 5).join(', ')}`,
    );
  if (r.storedUnansweredSettleSeconds > RESCUE_BOUND_SECONDS)
    found.push(
      `the killed publish's webhooks settled ${r.storedUnansweredSettleSeconds.toFixed(0)} s after it (bound ${RESCUE_BOUND_SECONDS} s)`,
    );
  if (r.accepted === 0) found.push('no event accepted');
  if (r.emptyAnswers.length)
    found.push(
      `${r.emptyAnswers.length} events accepted without their webhook: ${r.emptyAnswers.slice(0, 5).join(', ')}`,
    );
  if (r.lost.length) found.push(`${r.lost.length} lost: ${r.lost.slice(0, 5).join(', ')}`);
  if (r.stuck.length) found.push(`${r.stuck.length} stuck: ${r.stuck.slice(0, 5).join(', ')}`);
  if (r.notReceived.length)
    found.push(`${r.notReceived.length} succeeded without a verified receipt: ${r.notReceived.slice(0, 5).join(', ')}`);
  if (r.unrecovered.length)
    found.push(`${r.unrecovered.length} not recovered: ${r.unrecovered.slice(0, 5).join(', ')}`);
  if (r.invalidSignatures) found.push(`${r.invalidSignatures} invalid signatures`);
  if (r.settleSeconds > r.settleBoundSeconds)
    found.push(`settled in ${r.settleSeconds.toFixed(1)} s, over the ${r.settleBoundSeconds} s bound`);
  return found;
}
