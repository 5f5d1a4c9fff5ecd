import { subscribes } from '../endpoints/endpoints.ts';
import { ApiError, notFound, payloadTooLarge, unavailable } from '../errors.ts';
import { uuidv7 } from '../ids.ts';
import type { Webhook, WebhookState } from '../model.ts';
import { laneOf as laneOfEndpoint, type Lane } from '../delivery/policy.ts';
import type { OrganizationStore, WebhookRef, WebhookSet, WebhookStore } from '../ports.ts';
import { nextAttemptMessage, withPayload } from '../delivery/message.ts';
import type { WebhookDeps } from './deps.ts';
import { parseBody } from '../validation.ts';
import { BatchEnvelope, PublishRequest } from './schemas.ts';

/** Publishing events as webhooks, one per subscribed endpoint: parsing, the envelope, idempotent replays, queueing. */

type PublishDeps = Pick<
  WebhookDeps<OrganizationStore & WebhookStore>,
  'store' | 'queue' | 'logger' | 'metrics' | 'now' | 'retentionDays'
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

/** What publishing one event came to: its webhooks (new, or those of an earlier publish with its key), or why not. */
type PublishOutcome = { webhooks: WebhookState[] } | { error: unknown };

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
): Promise<({ webhooks: ReturnType<typeof published>['webhooks'] } | { error: ApiError })[]> {
  const outcomes = await publishEvents(deps, parseBatch(body));
  return outcomes.map((outcome) => {
    if (!('error' in outcome)) return published(outcome.webhooks);
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
 * The publish core behind both routes. Reads each organization and its endpoints once, writes all
 * events' webhooks through one store call (which packs them into few transactions, each event with
 * its idempotency record) and sends the messages in batches of ten.
 */
export async function publishEvents(
  deps: PublishDeps,
  bodies: unknown[],
  options: PublishOptions = {},
): Promise<PublishOutcome[]> {
  const outcomes: (PublishOutcome | undefined)[] = bodies.map(() => undefined);
  const valid: { index: number; input: PublishInput; payload: string }[] = [];
  bodies.forEach((body, index) => {
    try {
      const input = parsePublish(body);
      const payload = envelope(input);
      if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES)
        throw payloadTooLarge(`the webhook payload exceeds ${MAX_PAYLOAD_BYTES} bytes`);
      valid.push({ index, input, payload });
    } catch (error) {
      outcomes[index] = { error };
    }
  });

  const tenants = new Map(
    await Promise.all(
      [...new Set(valid.map((v) => v.input.organization_id))].map(async (id) => {
        const { organization, endpoints } = await deps.store.getOrganizationWithEndpoints(id);
        return [id, { organization, endpoints }] as const;
      }),
    ),
  );
  const nowMs = deps.now();
  const now = new Date(nowMs).toISOString();
  // The webhooks and their idempotency record expire together.
  const expiresAt = Math.floor(nowMs / 1000) + deps.retentionDays * 86400;
  const laneOf = new Map<string, Lane>();
  for (const { endpoints } of tenants.values()) for (const e of endpoints) laneOf.set(e.id, laneOfEndpoint(e, nowMs));

  const sets: WebhookSet[] = [];
  const setOf = new Map<number, number>();
  // A key repeated within the call is a replay of its first event: one set, the same answer.
  const firstWithKey = new Map<string, number>();
  const repeats: [index: number, first: number][] = [];
  for (const { index, input, payload } of valid) {
    const { organization, endpoints } = tenants.get(input.organization_id)!;
    if (!organization) {
      outcomes[index] = { error: notFound('organization') };
      continue;
    }
    if (input.idempotency_key) {
      const key = `${organization.id}#${input.idempotency_key}`;
      const first = firstWithKey.get(key);
      if (first !== undefined) {
        repeats.push([index, first]);
        continue;
      }
      firstWithKey.set(key, index);
    }
    const webhooks: Webhook[] = endpoints
      .filter((e) => (options.endpointId ? e.id === options.endpointId : subscribes(e, input.webhook_type)))
      .map((endpoint) => ({
        id: uuidv7(nowMs),
        organization_id: organization.id,
        endpoint_id: endpoint.id,
        endpoint_url: endpoint.webhook_url,
        webhook_type: input.webhook_type,
        object_type: input.object_type,
        object_id: objectId(input.object),
        payload,
        status: 'pending',
        attempt_count: 0,
        round_attempts: 0,
        attempts: [],
        http_status: null,
        response_body: null,
        error: null,
        next_attempt_at: now,
        timer: false,
        created_at: now,
        updated_at: now,
        version: 0,
        expires_at: expiresAt,
        ...(options.test ? { test: true } : {}),
      }));
    setOf.set(index, sets.length);
    sets.push({
      webhooks,
      ...(input.idempotency_key
        ? { idempotency: { organizationId: organization.id, key: input.idempotency_key, expiresAt } }
        : {}),
    });
  }

  const written = sets.length > 0 ? await deps.store.createWebhookSets(sets) : [];
  const toSend: { index: number; webhooks: WebhookState[]; payload?: string }[] = [];
  let created = 0;
  await Promise.all(
    [...setOf].map(async ([index, s]) => {
      const outcome = written[s]!;
      const set = sets[s]!;
      const payload = valid.find((v) => v.index === index)!.payload;
      if ('failed' in outcome) {
        deps.logger.error(
          { err: outcome.failed, organization_id: set.webhooks[0]?.organization_id },
          'webhooks not stored',
        );
        outcomes[index] = { error: outcome.failed };
      } else if ('existing' in outcome) {
        try {
          const webhooks = await replay(deps, outcome.existing, set.webhooks);
          outcomes[index] = { webhooks };
          // Webhooks that may never have reached the queue are sent again (a second message for one attempt is dropped),
          // without this request's body: the sender reads the payload stored by the first publish.
          toSend.push({ index, webhooks: webhooks.filter((w) => w.status === 'pending' && w.attempt_count === 0) });
        } catch (error) {
          deps.logger.error({ err: error }, 'replayed webhooks not read');
          outcomes[index] = { error: unavailable('the webhooks of this idempotency_key could not be read; retry') };
        }
      } else {
        outcomes[index] = { webhooks: set.webhooks };
        toSend.push({ index, webhooks: set.webhooks, payload });
        created += set.webhooks.length;
        const first = set.webhooks[0];
        if (first)
          deps.logger.info(
            {
              organization_id: first.organization_id,
              webhook_type: first.webhook_type,
              webhook_ids: set.webhooks.map((w) => w.id),
            },
            'webhook published',
          );
      }
    }),
  );
  for (const index of await enqueueEvents(deps, toSend, laneOf)) {
    outcomes[index] = {
      error: unavailable('the webhooks are stored but could not be queued; retry with the same idempotency_key'),
    };
  }
  if (created > 0) deps.metrics.record('WebhooksPublished', created);
  for (const [index, first] of repeats) outcomes[index] = outcomes[first];
  return outcomes.map((o) => o!);
}

/**
 * The webhooks recorded under a replayed idempotency key. Those missing (the first publish stopped
 * between its record and its webhooks) are written now, from this publish's copies under the
 * recorded ids.
 */
async function replay(
  deps: Pick<WebhookDeps<WebhookStore>, 'store'>,
  recorded: WebhookRef[],
  fresh: Webhook[],
): Promise<WebhookState[]> {
  const found = new Map((await deps.store.getWebhooks(recorded)).map((w) => [w.id, w]));
  const missing = recorded.flatMap((ref) => {
    if (found.has(ref.id)) return [];
    const copy = fresh.find((w) => w.endpoint_id === ref.endpointId);
    return copy ? [{ ...copy, id: ref.id }] : [];
  });
  if (missing.length > 0) {
    const [outcome] = await deps.store.createWebhookSets([{ webhooks: missing, onlyIfAbsent: true }]);
    if (outcome && 'failed' in outcome) throw outcome.failed;
    for (const webhook of missing) found.set(webhook.id, webhook);
  }
  return recorded.flatMap((ref) => found.get(ref.id) ?? []);
}

/**
 * Sends the events' messages, each on its endpoint's lane, ten per call, carrying the payload;
 * returns the events with a message that could not be sent. Those webhooks are marked unqueued, so
 * the sweeper sends them once they are overdue.
 */
async function enqueueEvents(
  deps: EnqueueDeps,
  events: { index: number; webhooks: WebhookState[]; payload?: string }[],
  laneOf: ReadonlyMap<string, Lane>,
): Promise<Set<number>> {
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
  await Promise.all(
    calls.map(async ({ lane, entries }) => {
      try {
        await deps.queue.send(
          lane,
          entries.map((e) => withPayload(nextAttemptMessage(e.webhook), e.payload)),
        );
      } catch (error) {
        deps.logger.error({ err: error, webhook_ids: entries.map((e) => e.webhook.id) }, 'enqueue failed');
        for (const e of entries) {
          failed.add(e.index);
          await deps.store
            .updateWebhook(e.webhook, { ...e.webhook, unqueued: true })
            .catch((markError: unknown) =>
              deps.logger.error({ err: markError, webhook_id: e.webhook.id }, 'could not mark a webhook unqueued'),
            );
        }
      }
    }),
  );
  return failed;
}

/** Queues the webhooks' next attempts (on the fast lane: the sender moves a slow endpoint's); a 503 if any could not be sent. */
export async function enqueueOrFail(deps: EnqueueDeps, webhooks: WebhookState[], payload?: string): Promise<void> {
  if (
    (await enqueueEvents(deps, [{ index: 0, webhooks, ...(payload !== undefined ? { payload } : {}) }], new Map()))
      .size > 0
  ) {
    throw unavailable('the webhooks are stored but could not be queued; they will be sent shortly');
  }
}
