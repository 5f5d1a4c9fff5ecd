import { subscribes } from '../endpoints/endpoints.ts';
import { ApiError, notFound, payloadTooLarge, unavailable } from '../errors.ts';
import { uuidv7 } from '../ids.ts';
import type { Organization, Webhook, WebhookEndpoint, WebhookState } from '../model.ts';
import { laneOf as laneOfEndpoint, type Lane } from '../delivery/policy.ts';
import {
  UnsentMessagesError,
  type OrganizationStore,
  type WebhookRef,
  type WebhookSet,
  type WebhookSetOutcome,
  type WebhookStore,
} from '../ports.ts';
import { nextAttemptMessage, withPayload } from '../delivery/message.ts';
import type { WebhookDeps } from './deps.ts';
import { newWebhook } from './new-webhook.ts';
import { parseBody } from '../validation.ts';
import { BatchEnvelope, PublishRequest } from './schemas.ts';

/** Publishing events as webhooks, one per subscribed endpoint: parsing, the envelope, idempotent replays, queueing. */

type PublishDeps = Pick<
  WebhookDeps<OrganizationStore & WebhookStore>,
  'store' | 'queue' | 'logger' | 'metrics' | 'now' | 'journal' | 'afterStore'
>;
type EnqueueDeps = Pick<WebhookDeps<WebhookStore>, 'store' | 'queue' | 'logger'>;

/** The largest body a producer may publish (the envelope is what is signed and sent). */
const MAX_PAYLOAD_BYTES = 256 * 1024;

interface PublishInput {
  organization_id: string;
  webhook_type: string;
  object_type: string;
  object: Record<string, unknown>;
  idempotency_key?: string;
}

function parsePublish(body: unknown): PublishInput {
  return parseBody(PublishRequest, body);
}

/** Lago's envelope; these bytes are signed and sent unchanged on every attempt. */
export function envelope(input: PublishInput): string {
  return JSON.stringify({
    webhook_type: input.webhook_type,
    object_type: input.object_type,
    organization_id: input.organization_id,
    [input.object_type]: input.object,
  });
}

function objectId(object: Record<string, unknown>): string | null {
  const id = object.lago_id ?? object.id;
  return typeof id === 'string' && id !== '' && id.length <= 255 ? id : null;
}

/** Messages per SQS SendMessageBatch call. */
const QUEUE_BATCH = 10;

/** The events of a batch publish: `{"events":[...]}` with 1 to MAX_BATCH_EVENTS items, each checked on its own later. */
export function parseBatch(body: unknown): unknown[] {
  return parseBody(BatchEnvelope, body).events;
}

/**
 * What publishing one event came to: its webhooks (new, or those of an earlier publish with its key), or why not;
 * an event stored but not all queued carries its webhooks beside the error, for its publisher to know of them.
 */
type PublishOutcome = { webhooks: WebhookState[] } | { error: unknown; webhooks?: WebhookState[] };

const published = (webhooks: WebhookState[]) => ({
  webhooks: webhooks.map((w) => ({
    lago_id: w.id,
    lago_webhook_endpoint_id: w.endpoint_id,
    webhook_url: w.endpoint_url,
    status: w.status,
  })),
});

export async function publish(deps: PublishDeps, body: unknown) {
  const [outcome] = await publishEvents(deps, [body]);
  if (!outcome || 'error' in outcome) throw outcome?.error;
  return published(outcome.webhooks);
}

/** Each event is published or refused on its own, in order; refusals are ApiErrors (Lago's shape per event). */
export async function publishBatch(
  deps: PublishDeps,
  body: unknown,
): Promise<
  (
    | { webhooks: ReturnType<typeof published>['webhooks'] }
    | { error: ApiError; webhooks?: ReturnType<typeof published>['webhooks'] }
  )[]
> {
  const outcomes = await publishEvents(deps, parseBatch(body));
  return outcomes.map((outcome) => {
    if (!('error' in outcome)) return published(outcome.webhooks);
    // Stored, not all queued: the answer lists what the sweeper will send.
    if (outcome.webhooks) return { error: outcome.error as ApiError, ...published(outcome.webhooks) };
    // Not the event's fault (already logged): nothing of it was stored, so sending it again is safe.
    return {
      error: outcome.error instanceof ApiError ? outcome.error : unavailable('the event could not be stored; retry'),
    };
  });
}

/** A publish aimed at one endpoint, whatever it subscribes to, and its webhooks marked as tests (shared/domain/webhooks/test-events.ts). */
interface PublishOptions {
  endpointId?: string;
  test?: boolean;
}

/**
 * The publish core behind both routes, as stages that hand each event on, one record per event:
 * `parseEvent` → `loadTenants` (each organization and its endpoints, one read each) → `planSets`
 * (the webhooks each event makes) → `writeSets` (one store call for every set, which packs them
 * into few transactions, each event with its idempotency record) → `enqueue` (the messages, ten a
 * call). An event refused or failed at a stage is answered there and goes no further.
 */
export async function publishEvents(
  deps: PublishDeps,
  bodies: unknown[],
  options: PublishOptions = {},
): Promise<PublishOutcome[]> {
  const parsed = bodies.map(parseEvent);
  const loaded = await loadTenants(deps, parsed);
  const nowMs = deps.now();
  const planned = planSets(loaded, { ...options, nowMs });
  // The intents of this publish (intents.ts): confirmed by this process's next one once every message is sent or marked.
  const intents: number[] = [];
  const written = await writeSets({ ...deps, intents }, planned);
  deps.afterStore?.();
  const { answered, allHandled } = await enqueue(deps, written, nowMs);
  if (allHandled) for (const seq of intents) deps.journal.end(seq);
  const created = going(written)
    .filter((event) => event.created)
    .reduce((n, event) => n + event.webhooks.length, 0);
  if (created > 0) deps.metrics.record('WebhooksPublished', created);
  return inOrder(answered);
}

/** An event read and enveloped. */
interface Parsed {
  index: number;
  input: PublishInput;
  payload: string;
}

/** An organization that exists, and its endpoints. */
interface Tenant {
  organization: Organization;
  endpoints: WebhookEndpoint[];
}

interface Loaded extends Parsed {
  tenant: Tenant;
}

interface Planned extends Loaded {
  set: WebhookSet;
  /** Later events of the call with the same idempotency key: replays of this one, with the same answer. */
  repeats: number[];
}

interface Written extends Planned {
  /** The event's webhooks: this publish's, or those an earlier publish with its key recorded. */
  webhooks: WebhookState[];
  /** The webhooks to queue, and the payload their messages carry (none for a replay: the sender reads the stored one). */
  queue: { webhooks: WebhookState[]; payload?: string };
  /** This publish created them (they count as published). */
  created: boolean;
}

/** An event with its answer, and the events of the call that repeat it. */
interface Answered {
  index: number;
  repeats?: number[];
  outcome: PublishOutcome;
}

const isAnswered = (event: object): event is Answered => 'outcome' in event;
/** The events a stage works on: those not answered yet. */
const going = <T extends object>(events: (T | Answered)[]): T[] => events.filter((e): e is T => !isAnswered(e));
const answer = (index: number, outcome: PublishOutcome, repeats?: number[]): Answered => ({ index, outcome, repeats });

function parseEvent(body: unknown, index: number): Parsed | Answered {
  try {
    const input = parsePublish(body);
    const payload = envelope(input);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES)
      throw payloadTooLarge(`the webhook payload exceeds ${MAX_PAYLOAD_BYTES} bytes`);
    return { index, input, payload };
  } catch (error) {
    return answer(index, { error });
  }
}

/** Reads each organization of the events once, with its endpoints; an event for an unknown organization is answered 404. */
async function loadTenants(deps: PublishDeps, events: (Parsed | Answered)[]): Promise<(Loaded | Answered)[]> {
  const ids = new Set(going(events).map((event) => event.input.organization_id));
  const tenants = new Map(
    await Promise.all([...ids].map(async (id) => [id, await deps.store.getOrganizationWithEndpoints(id)] as const)),
  );
  return events.map((event) => {
    if (isAnswered(event)) return event;
    const { organization, endpoints = [] } = tenants.get(event.input.organization_id) ?? {};
    if (!organization) return answer(event.index, { error: notFound('organization') });
    return { ...event, tenant: { organization, endpoints } };
  });
}

/** The webhooks of each event, one per endpoint it reaches. A key repeated within the call is a replay of its first event: one set, the same answer. */
function planSets(events: (Loaded | Answered)[], plan: PublishOptions & { nowMs: number }): (Planned | Answered)[] {
  const firstWithKey = new Map<string, Planned>();
  return events.flatMap((event): (Planned | Answered)[] => {
    if (isAnswered(event)) return [event];
    const { input, payload, tenant } = event;
    const key = input.idempotency_key ? `${tenant.organization.id}#${input.idempotency_key}` : undefined;
    const first = key === undefined ? undefined : firstWithKey.get(key);
    if (first) {
      first.repeats.push(event.index);
      return [];
    }
    const webhooks = tenant.endpoints
      .filter((e) => (plan.endpointId ? e.id === plan.endpointId : subscribes(e, input.webhook_type)))
      .map((endpoint) =>
        newWebhook({
          id: uuidv7(plan.nowMs),
          organization_id: tenant.organization.id,
          endpoint_id: endpoint.id,
          endpoint_url: endpoint.webhook_url,
          webhook_type: input.webhook_type,
          object_type: input.object_type,
          object_id: objectId(input.object),
          payload,
          atMs: plan.nowMs,
          test: plan.test,
        }),
      );
    const idempotency = input.idempotency_key
      ? { idempotency: { organizationId: tenant.organization.id, key: input.idempotency_key } }
      : {};
    const planned: Planned = { ...event, set: { webhooks, ...idempotency }, repeats: [] };
    if (key !== undefined) firstWithKey.set(key, planned);
    return [planned];
  });
}

/** A publish's deps, with the numbers of the intents it wrote. */
type WritingDeps = PublishDeps & { intents: number[] };

/** The intent of a store write about to create `sets`' webhooks, numbered in the publish's list. */
function intentFor(deps: WritingDeps, sets: WebhookSet[]) {
  const intent = deps.journal.begin(
    sets.flatMap((set) => set.webhooks.map((w) => ({ endpointId: w.endpoint_id, id: w.id }))),
    deps.now(),
  );
  deps.intents.push(intent.seq);
  return intent;
}

/** Writes every planned set in one store call, after its intent, and reads what a replayed key recorded. */
async function writeSets(deps: WritingDeps, events: (Planned | Answered)[]): Promise<(Written | Answered)[]> {
  const planned = going(events);
  const sets = planned.map((event) => event.set);
  const results = planned.length > 0 ? await deps.store.createWebhookSets(sets, intentFor(deps, sets)) : [];
  const resultOf = new Map(planned.map((event, i) => [event, results[i]]));
  return Promise.all(
    events.map((event) =>
      isAnswered(event)
        ? event
        : afterWrite(deps, event, resultOf.get(event) ?? { failed: new Error('the store did not answer for a set') }),
    ),
  );
}

async function afterWrite(deps: WritingDeps, event: Planned, result: WebhookSetOutcome): Promise<Written | Answered> {
  const { webhooks } = event.set;
  if ('failed' in result) {
    deps.logger.error({ err: result.failed, organization_id: webhooks[0]?.organization_id }, 'webhooks not stored');
    return answer(event.index, { error: result.failed }, event.repeats);
  }
  if ('existing' in result) {
    try {
      const recorded = await replay(deps, result.existing, webhooks);
      // Webhooks that may never have reached the queue are sent again (a second message for one attempt is dropped),
      // without this request's body: the sender reads the payload stored by the first publish.
      const queue = recorded.filter((w) => w.status === 'pending' && w.attempt_count === 0);
      return { ...event, webhooks: recorded, queue: { webhooks: queue }, created: false };
    } catch (error) {
      deps.logger.error({ err: error }, 'replayed webhooks not read');
      const unreadable = unavailable('the webhooks of this idempotency_key could not be read; retry');
      return answer(event.index, { error: unreadable }, event.repeats);
    }
  }
  const first = webhooks[0];
  if (first)
    deps.logger.info(
      {
        organization_id: first.organization_id,
        webhook_type: first.webhook_type,
        webhook_ids: webhooks.map((w) => w.id),
      },
      'webhook published',
    );
  return { ...event, webhooks, queue: { webhooks, payload: event.payload }, created: true };
}

/**
 * Queues every written event's webhooks on their endpoints' lanes. An event whose messages could not all be
 * sent is answered 503 with its webhooks, which the sweeper will send: the answer says whether publishing it
 * again is safe (with its idempotency key) or would send it twice (without one). `allHandled`: every
 * webhook was queued or marked unqueued.
 */
async function enqueue(
  deps: PublishDeps,
  events: (Written | Answered)[],
  nowMs: number,
): Promise<{ answered: Answered[]; allHandled: boolean }> {
  const written = going(events);
  const laneOf = new Map(
    written.flatMap((event) => event.tenant.endpoints.map((e) => [e.id, laneOfEndpoint(e, nowMs)] as const)),
  );
  const { failed, unmarked } = await enqueueEvents(
    deps,
    written.map(({ index, queue }) => ({ index, ...queue })),
    laneOf,
  );
  const answered = events.map((event) => {
    if (isAnswered(event)) return event;
    const outcome: PublishOutcome = failed.has(event.index)
      ? { error: notQueued(event.input.idempotency_key !== undefined), webhooks: event.webhooks }
      : { webhooks: event.webhooks };
    return answer(event.index, outcome, event.repeats);
  });
  return { answered, allHandled: unmarked === 0 };
}

const notQueued = (keyed: boolean) =>
  unavailable(
    keyed
      ? 'the webhooks are stored but could not be queued; retry with the same idempotency_key'
      : 'the webhooks are stored but could not be queued; the sweeper will send them: publishing the event again would send it twice',
  );

/** The answers in the order of the events, each repeat with its first event's. */
function inOrder(events: Answered[]): PublishOutcome[] {
  const outcomes: PublishOutcome[] = [];
  for (const { index, repeats = [], outcome } of events) for (const at of [index, ...repeats]) outcomes[at] = outcome;
  return outcomes;
}

/**
 * The webhooks recorded under a replayed idempotency key. Those missing (the first publish stopped
 * between its record and its webhooks) are written now, from this publish's copies under the
 * recorded ids.
 */
async function replay(deps: WritingDeps, recorded: WebhookRef[], fresh: Webhook[]): Promise<WebhookState[]> {
  const found = new Map((await deps.store.getWebhooks(recorded)).map((w) => [w.id, w]));
  const missing = recorded.flatMap((ref) => {
    if (found.has(ref.id)) return [];
    const copy = fresh.find((w) => w.endpoint_id === ref.endpointId);
    return copy ? [{ ...copy, id: ref.id }] : [];
  });
  if (missing.length > 0) {
    const completion = { webhooks: missing, onlyIfAbsent: true };
    const [outcome] = await deps.store.createWebhookSets([completion], intentFor(deps, [completion]));
    if (outcome && 'failed' in outcome) throw outcome.failed;
    for (const webhook of missing) found.set(webhook.id, webhook);
  }
  return recorded.flatMap((ref) => found.get(ref.id) ?? []);
}

/**
 * Sends the events' messages, each on its endpoint's lane, ten per call, carrying the payload;
 * returns the events with a message that could not be sent. Those webhooks alone are marked
 * unqueued, so the sweeper sends them once they are overdue; the others of their call were sent.
 * `unmarked` counts those whose mark failed too.
 */
async function enqueueEvents(
  deps: EnqueueDeps,
  events: { index: number; webhooks: WebhookState[]; payload?: string }[],
  laneOf: ReadonlyMap<string, Lane>,
): Promise<{ failed: Set<number>; unmarked: number }> {
  const calls: { lane: Lane; entries: { index: number; webhook: WebhookState; payload?: string }[] }[] = [];
  for (const lane of ['fast', 'slow'] as const) {
    const entries = events.flatMap(({ index, webhooks, payload }) =>
      webhooks
        .filter((w) => (laneOf.get(w.endpoint_id) ?? 'fast') === lane)
        .map((webhook) => ({ index, webhook, payload })),
    );
    for (let i = 0; i < entries.length; i += QUEUE_BATCH)
      calls.push({ lane, entries: entries.slice(i, i + QUEUE_BATCH) });
  }
  const failed = new Set<number>();
  let unmarked = 0;
  await Promise.all(
    calls.map(async ({ lane, entries }) => {
      try {
        await deps.queue.send(
          lane,
          entries.map((e) => withPayload(nextAttemptMessage(e.webhook), e.payload)),
        );
      } catch (error) {
        const unsent = error instanceof UnsentMessagesError ? new Set(error.unsent.map((m) => m.webhookId)) : undefined;
        const failing = unsent ? entries.filter((e) => unsent.has(e.webhook.id)) : entries;
        deps.logger.error({ err: error, webhook_ids: failing.map((e) => e.webhook.id) }, 'enqueue failed');
        for (const e of failing) {
          failed.add(e.index);
          await deps.store.updateWebhook(e.webhook, { ...e.webhook, unqueued: true }).catch((markError: unknown) => {
            unmarked++;
            deps.logger.error({ err: markError, webhook_id: e.webhook.id }, 'could not mark a webhook unqueued');
          });
        }
      }
    }),
  );
  return { failed, unmarked };
}

/** Queues the webhooks' next attempts (on the fast lane: the sender moves a slow endpoint's); a 503 if any could not be sent. */
export async function enqueueOrFail(deps: EnqueueDeps, webhooks: WebhookState[], payload?: string): Promise<void> {
  const { failed } = await enqueueEvents(
    deps,
    [{ index: 0, webhooks, ...(payload !== undefined ? { payload } : {}) }],
    new Map(),
  );
  if (failed.size > 0) {
    throw unavailable('the webhooks are stored but could not be queued; they will be sent shortly');
  }
}
