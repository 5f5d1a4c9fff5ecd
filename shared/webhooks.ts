import { subscribes } from './endpoints.ts';
import { ApiError, badRequest, notAllowed, notFound, payloadTooLarge, unavailable, validationFailed, type ValidationDetails } from './errors.ts';
import { isWebhookType } from './event-types.ts';
import { idTime, isUuid, uuidv7 } from './ids.ts';
import { WEBHOOK_STATUSES, type Webhook, type WebhookState, type WebhookStatus } from './model.ts';
import { laneOf as laneOfEndpoint, type Lane } from './delivery-policy.ts';
import type { DeliveryQueue, Logger, Metrics, Store, WebhookQuery, WebhookRef, WebhookSet } from './ports.ts';
import { nextAttemptMessage, withPayload } from './delivery-message.ts';

/** Publishing webhooks and working with their logs: search, details, retry, bulk recovery, the sweeper. */

/** The largest body a producer may publish (the envelope is what is signed and sent). */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
export const MAX_RECOVER_WINDOW_DAYS = 14;
const MAX_RECOVER_PER_CALL = 5000;
/** Recover stops in time to answer within API Gateway's 30 s; the caller calls again while has_more. */
const RECOVER_TIME_BUDGET_MS = 20_000;
const MAX_PER_PAGE = 100;
const DEFAULT_PER_PAGE = 20;
/**
 * The sweeper sends the message of a webhook waiting on a timer when it is due within this long:
 * under SQS's 15-minute delay, with a sweep (every minute) to spare.
 */
export const TIMER_LOOKAHEAD_MS = 12 * 60_000;

export interface WebhookDeps {
  store: Store;
  queue: DeliveryQueue;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
  retentionDays: number;
  /** Attempts per round (retry schedule length + 1). */
  maxAttempts: number;
  /** How long past its due time a live webhook may wait before it counts as stuck. */
  stuckAfterMs: number;
}

const OBJECT_TYPE = /^[a-z][a-z0-9_]{0,63}$/;
/** The object sits beside these keys in the envelope, so it cannot take their names. */
const ENVELOPE_KEYS = ['webhook_type', 'object_type', 'organization_id'];

interface PublishInput {
  organization_id: string;
  webhook_type: string;
  object_type: string;
  object: Record<string, unknown>;
  idempotency_key?: string;
}

function parsePublish(body: unknown): PublishInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body must be a JSON object');
  const raw = body as Record<string, unknown>;
  const details: ValidationDetails = {};
  const mandatory = (field: string, ok: boolean, present: boolean) => {
    if (!present) details[field] = ['value_is_mandatory'];
    else if (!ok) details[field] = ['value_is_invalid'];
  };
  mandatory('organization_id', typeof raw.organization_id === 'string' && isUuid(raw.organization_id), raw.organization_id != null);
  mandatory('webhook_type', typeof raw.webhook_type === 'string' && isWebhookType(raw.webhook_type), raw.webhook_type != null);
  mandatory('object_type', typeof raw.object_type === 'string' && OBJECT_TYPE.test(raw.object_type) && !ENVELOPE_KEYS.includes(raw.object_type), raw.object_type != null);
  mandatory('object', typeof raw.object === 'object' && raw.object !== null && !Array.isArray(raw.object), raw.object != null);
  if (raw.idempotency_key != null && (typeof raw.idempotency_key !== 'string' || raw.idempotency_key === '' || raw.idempotency_key.length > 255)) {
    details.idempotency_key = ['value_is_invalid'];
  }
  if (Object.keys(details).length > 0) throw validationFailed(details);
  return raw as unknown as PublishInput;
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

/** The most events one batch publish takes. */
export const MAX_BATCH_EVENTS = 100;
/** Messages per SQS SendMessageBatch call. */
const QUEUE_BATCH = 10;

/** The events of a batch publish: `{"events":[...]}` with 1 to MAX_BATCH_EVENTS items, each checked on its own later. */
export function parseBatch(body: unknown): unknown[] {
  const events = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>).events : undefined;
  if (!Array.isArray(events) || events.length === 0 || events.length > MAX_BATCH_EVENTS) {
    throw badRequest(`the body must be {"events":[...]} with 1 to ${MAX_BATCH_EVENTS} events`);
  }
  return events;
}

/** What publishing one event came to: its webhooks (new, or those of an earlier publish with its key), or why not. */
type PublishOutcome = { webhooks: WebhookState[] } | { error: unknown };

const published = (webhooks: WebhookState[]) => ({
  webhooks: webhooks.map((l) => ({ lago_id: l.id, lago_webhook_endpoint_id: l.endpoint_id, webhook_url: l.endpoint_url, status: l.status })),
});

export async function publish(deps: WebhookDeps, body: unknown) {
  const [outcome] = await publishEvents(deps, [body]);
  if (!outcome || 'error' in outcome) throw outcome?.error;
  return published(outcome.webhooks);
}

/** Each event is published or refused on its own, in order; refusals are ApiErrors (Lago's shape per event). */
export async function publishBatch(deps: WebhookDeps, body: unknown): Promise<({ webhooks: ReturnType<typeof published>['webhooks'] } | { error: ApiError })[]> {
  const outcomes = await publishEvents(deps, parseBatch(body));
  return outcomes.map((outcome) => {
    if (!('error' in outcome)) return published(outcome.webhooks);
    // Not the event's fault (already logged): nothing of it was stored, so sending it again is safe.
    return { error: outcome.error instanceof ApiError ? outcome.error : unavailable('the event could not be stored; retry') };
  });
}

/** A publish aimed at one endpoint, whatever it subscribes to, and its webhooks marked as tests (shared/test-events.ts). */
export interface PublishOptions {
  endpointId?: string;
  test?: boolean;
}

/**
 * The publish core behind both routes. Reads each organization and its endpoints once, writes all
 * events' webhooks through one store call (which packs them into few transactions, each event with
 * its idempotency record) and sends the messages in batches of ten.
 */
export async function publishEvents(deps: WebhookDeps, bodies: unknown[], options: PublishOptions = {}): Promise<PublishOutcome[]> {
  const outcomes: (PublishOutcome | undefined)[] = bodies.map(() => undefined);
  const valid: { index: number; input: PublishInput; payload: string }[] = [];
  bodies.forEach((body, index) => {
    try {
      const input = parsePublish(body);
      const payload = envelope(input);
      if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) throw payloadTooLarge(`the webhook payload exceeds ${MAX_PAYLOAD_BYTES} bytes`);
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
  // The logs and their idempotency record expire together.
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
    const logs: Webhook[] = endpoints
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
    sets.push({ webhooks: logs, ...(input.idempotency_key ? { idempotency: { organizationId: organization.id, key: input.idempotency_key, expiresAt } } : {}) });
  }

  const written = sets.length > 0 ? await deps.store.createWebhookSets(sets) : [];
  const toSend: { index: number; logs: WebhookState[]; payload?: string }[] = [];
  let created = 0;
  await Promise.all(
    [...setOf].map(async ([index, s]) => {
      const outcome = written[s]!;
      const set = sets[s]!;
      const payload = valid.find((v) => v.index === index)!.payload;
      if ('failed' in outcome) {
        deps.logger.error({ err: outcome.failed, organization_id: set.webhooks[0]?.organization_id }, 'webhooks not stored');
        outcomes[index] = { error: outcome.failed };
      } else if ('existing' in outcome) {
        try {
          const logs = await replay(deps, outcome.existing, set.webhooks);
          outcomes[index] = { webhooks: logs };
          // Webhooks that may never have reached the queue are sent again (a second message for one attempt is dropped),
          // without this request's body: the sender reads the payload stored by the first publish.
          toSend.push({ index, logs: logs.filter((l) => l.status === 'pending' && l.attempt_count === 0) });
        } catch (error) {
          deps.logger.error({ err: error }, 'replayed webhooks not read');
          outcomes[index] = { error: unavailable('the webhooks of this idempotency_key could not be read; retry') };
        }
      } else {
        outcomes[index] = { webhooks: set.webhooks };
        toSend.push({ index, logs: set.webhooks, payload });
        created += set.webhooks.length;
        const first = set.webhooks[0];
        if (first) deps.logger.info({ organization_id: first.organization_id, webhook_type: first.webhook_type, webhook_ids: set.webhooks.map((l) => l.id) }, 'webhook published');
      }
    }),
  );
  for (const index of await enqueueEvents(deps, toSend, laneOf)) {
    outcomes[index] = { error: unavailable('the webhooks are stored but could not be queued; retry with the same idempotency_key') };
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
async function replay(deps: WebhookDeps, recorded: WebhookRef[], fresh: Webhook[]): Promise<WebhookState[]> {
  const found = new Map((await deps.store.getWebhooks(recorded)).map((l) => [l.id, l]));
  const missing = recorded.flatMap((ref) => {
    if (found.has(ref.id)) return [];
    const copy = fresh.find((l) => l.endpoint_id === ref.endpointId);
    return copy ? [{ ...copy, id: ref.id }] : [];
  });
  if (missing.length > 0) {
    const [outcome] = await deps.store.createWebhookSets([{ webhooks: missing, onlyIfAbsent: true }]);
    if (outcome && 'failed' in outcome) throw outcome.failed;
    for (const log of missing) found.set(log.id, log);
  }
  return recorded.flatMap((ref) => found.get(ref.id) ?? []);
}

/**
 * Sends the events' messages, each on its endpoint's lane, ten per call, carrying the payload;
 * returns the events with a message that could not be sent. Those webhooks are marked unqueued, so
 * the sweeper sends them once they are overdue.
 */
async function enqueueEvents(deps: WebhookDeps, events: { index: number; logs: WebhookState[]; payload?: string }[], laneOf: ReadonlyMap<string, Lane>): Promise<Set<number>> {
  const calls: { lane: Lane; entries: { index: number; log: WebhookState; payload?: string }[] }[] = [];
  for (const lane of ['fast', 'slow'] as const) {
    const entries = events.flatMap(({ index, logs, payload }) => logs.filter((l) => (laneOf.get(l.endpoint_id) ?? 'fast') === lane).map((log) => ({ index, log, payload })));
    for (let i = 0; i < entries.length; i += QUEUE_BATCH) calls.push({ lane, entries: entries.slice(i, i + QUEUE_BATCH) });
  }
  const failed = new Set<number>();
  await Promise.all(
    calls.map(async ({ lane, entries }) => {
      try {
        await deps.queue.send(lane, entries.map((e) => withPayload(nextAttemptMessage(e.log), e.payload)));
      } catch (error) {
        deps.logger.error({ err: error, webhook_ids: entries.map((e) => e.log.id) }, 'enqueue failed');
        for (const e of entries) {
          failed.add(e.index);
          await deps.store.updateWebhook(e.log, { ...e.log, unqueued: true }).catch((markError: unknown) => deps.logger.error({ err: markError, webhook_id: e.log.id }, 'could not mark a webhook unqueued'));
        }
      }
    }),
  );
  return failed;
}

/** Queues the webhooks' next attempts (on the fast lane: the sender moves a slow endpoint's); a 503 if any could not be sent. */
async function enqueueOrFail(deps: WebhookDeps, logs: WebhookState[], payload?: string): Promise<void> {
  if ((await enqueueEvents(deps, [{ index: 0, logs, ...(payload !== undefined ? { payload } : {}) }], new Map())).size > 0) {
    throw unavailable('the webhooks are stored but could not be queued; they will be sent shortly');
  }
}

/** The list view: everything but the payload and the attempts. */
export function summarize(log: WebhookState) {
  return {
    lago_id: log.id,
    lago_organization_id: log.organization_id,
    lago_webhook_endpoint_id: log.endpoint_id,
    webhook_url: log.endpoint_url,
    webhook_type: log.webhook_type,
    object_type: log.object_type,
    object_id: log.object_id,
    unique_key: log.id,
    status: log.status,
    http_status: log.http_status,
    retries: Math.max(0, log.attempt_count - 1),
    attempts_count: log.attempt_count,
    last_retried_at: log.attempt_count > 1 ? (log.attempts[log.attempts.length - 1]?.at ?? null) : null,
    next_attempt_at: log.status === 'pending' || log.status === 'retrying' ? log.next_attempt_at : null,
    test: log.test === true,
    created_at: log.created_at,
    updated_at: log.updated_at,
  };
}

/** The details view: all a person needs to debug one delivery. */
export function detail(log: Webhook) {
  return {
    ...summarize(log),
    payload: JSON.parse(log.payload) as unknown,
    response: log.response_body,
    error: log.error,
    attempts: log.attempts,
  };
}

const HTTP_STATUS_FILTER = /^(?:[1-5]\d\d|[1-5]xx|timeout)$/;

/** Values a list filter may hold: each becomes an index partition or a filter term. */
const MAX_LIST_VALUES = 20;

/** Reads repeated (`statuses[]=a&statuses[]=b`) and comma-separated (`statuses=a,b`) forms alike; too many values is a 422. */
function listParam(params: URLSearchParams, name: string, details: ValidationDetails): string[] | undefined {
  const values = [...new Set([...params.getAll(`${name}[]`), ...params.getAll(name)].flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== ''))];
  if (values.length > MAX_LIST_VALUES) {
    details[name] = ['too_many_values'];
    return undefined;
  }
  return values.length ? values : undefined;
}

function isCalendarDate(ymd: string): boolean {
  const [y, m, d] = ymd.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d)).toISOString().slice(0, 10) === ymd;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** ISO 8601 dates and times; a time without a zone is UTC, whatever the machine's zone. */
function parseDate(raw: string | null, endOfDay: boolean, field: string, details: ValidationDetails): number | undefined {
  if (raw === null || raw === '') return undefined;
  // The whole value must be ISO 8601 (Date.parse forgives trailing garbage such as a NUL).
  if (!ISO_DATE.test(raw)) {
    details[field] = ['invalid_date'];
    return undefined;
  }
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(raw);
  const zoned = dateOnly ? `${raw}T00:00:00Z` : /(?:Z|[+-]\d{2}:?\d{2})$/i.test(raw) ? raw : `${raw}Z`;
  const ms = Date.parse(zoned);
  // Date.parse rolls impossible days over (2024-02-30 becomes March 1st): the calendar date must round-trip.
  if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}/.test(raw) || !isCalendarDate(raw.slice(0, 10))) {
    details[field] = ['invalid_date'];
    return undefined;
  }
  return dateOnly && endOfDay ? ms + 86_400_000 - 1 : ms;
}

export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

function decodeCursor(raw: string): string | undefined {
  const id = Buffer.from(raw, 'base64url').toString('utf8');
  return isUuid(id) ? id : undefined;
}

export function parseWebhookQuery(organizationId: string, params: URLSearchParams): WebhookQuery {
  const details: ValidationDetails = {};
  const query: WebhookQuery = { organizationId, limit: DEFAULT_PER_PAGE };
  const endpointId = params.get('webhook_endpoint_id');
  if (endpointId) {
    if (isUuid(endpointId)) query.endpointId = endpointId;
    else details.webhook_endpoint_id = ['value_is_invalid'];
  }
  const statuses = listParam(params, 'statuses', details);
  if (statuses) {
    if (statuses.every((s) => (WEBHOOK_STATUSES as readonly string[]).includes(s))) query.statuses = statuses as WebhookStatus[];
    else details.statuses = ['value_is_invalid'];
  }
  const types = listParam(params, 'webhook_types', details);
  if (types) {
    if (types.every(isWebhookType)) query.webhookTypes = types;
    else details.webhook_types = ['value_is_invalid'];
  }
  const codes = listParam(params, 'http_statuses', details);
  if (codes) {
    if (codes.every((c) => HTTP_STATUS_FILTER.test(c))) query.httpStatuses = codes;
    else details.http_statuses = ['value_is_invalid'];
  }
  const from = parseDate(params.get('from_date'), false, 'from_date', details);
  const to = parseDate(params.get('to_date'), true, 'to_date', details);
  if (from !== undefined) query.fromMs = from;
  if (to !== undefined) query.toMs = to;
  const term = params.get('search_term')?.trim();
  if (term) {
    if (term.length <= 255) query.searchTerm = term;
    else details.search_term = ['value_is_invalid'];
  }
  const perPage = params.get('per_page');
  if (perPage !== null) {
    const n = Number(perPage);
    if (Number.isInteger(n) && n >= 1 && n <= MAX_PER_PAGE) query.limit = n;
    else details.per_page = ['value_is_invalid'];
  }
  const cursor = params.get('cursor');
  if (cursor) {
    const before = decodeCursor(cursor);
    if (before) query.before = before;
    else details.cursor = ['value_is_invalid'];
  }
  if (Object.keys(details).length > 0) throw validationFailed(details);
  return query;
}

export async function listWebhooks(deps: WebhookDeps, query: WebhookQuery) {
  const page = await deps.store.queryWebhooks(query);
  return {
    webhooks: page.items.map(summarize),
    meta: { per_page: query.limit, next_cursor: page.last ? encodeCursor(page.last) : null },
  };
}

export async function getWebhook(store: Store, organizationId: string, id: string): Promise<Webhook> {
  // Read among the organization's own endpoints: another organization's webhook does not exist, as far as this one can tell.
  const log = isUuid(id) ? await store.getWebhook(organizationId, id) : undefined;
  if (!log || log.organization_id !== organizationId) throw notFound('webhook');
  return log;
}

const isLive = (log: WebhookState) => log.status === 'pending' || log.status === 'retrying';

/** A live webhook whose next attempt, held by a queue message, is long overdue: its message was lost. */
export function isStuck(log: WebhookState, nowMs: number, stuckAfterMs: number): boolean {
  if (!isLive(log) || log.timer) return false;
  const due = log.next_attempt_at ? Date.parse(log.next_attempt_at) : idTime(log.id);
  return due + stuckAfterMs < nowMs;
}

/**
 * Starts a new round (fresh attempt budget, same unique key) and queues it. It is recorded as
 * unqueued until its attempt is made, so the sweeper sends it again if its message is lost.
 */
async function reopen(deps: WebhookDeps, log: WebhookState, payload?: string): Promise<WebhookState | undefined> {
  const now = new Date(deps.now()).toISOString();
  const next: WebhookState = { ...log, status: 'pending', round_attempts: 0, timer: false, unqueued: true, next_attempt_at: now, updated_at: now };
  const written = await deps.store.updateWebhook(log, next);
  if (written) await enqueueOrFail(deps, [written], payload);
  return written;
}

/** Starts a new round for a webhook whose status allows it (or that is stuck); one still queued is left alone. */
async function redeliver(deps: WebhookDeps, organizationId: string, log: Webhook, finished: readonly WebhookStatus[], done: string) {
  if (!(await deps.store.getEndpoint(organizationId, log.endpoint_id))) throw notFound('webhook_endpoint');
  if (finished.includes(log.status) || isStuck(log, deps.now(), deps.stuckAfterMs)) {
    const reopened = await reopen(deps, log, log.payload);
    if (reopened) {
      deps.logger.info({ organization_id: organizationId, webhook_id: log.id }, done);
      return { webhook: detail({ ...reopened, payload: log.payload }) };
    }
  }
  return { webhook: detail(await getWebhook(deps.store, organizationId, log.id)) };
}

/** Lago's retry: a failed webhook again; a succeeded one is a 405. A retry click never makes a second delivery of a queued one. */
export async function retryWebhook(deps: WebhookDeps, organizationId: string, id: string) {
  const log = await getWebhook(deps.store, organizationId, id);
  if (log.status === 'succeeded') throw notAllowed('is_succeeded');
  return redeliver(deps, organizationId, log, ['failed'], 'webhook retried');
}

/**
 * Delivers a webhook again, whatever its outcome (Lago's retry refuses a succeeded one): a new
 * round under the same unique key, recorded in its attempts.
 */
export async function resendWebhook(deps: WebhookDeps, organizationId: string, id: string) {
  return redeliver(deps, organizationId, await getWebhook(deps.store, organizationId, id), ['succeeded', 'failed'], 'webhook resent');
}

export async function recoverWebhooks(deps: WebhookDeps, organizationId: string, body: unknown) {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body must be a JSON object');
  const raw = body as Record<string, unknown>;
  const details: ValidationDetails = {};
  const endpointId = raw.webhook_endpoint_id;
  if (typeof endpointId !== 'string' || !isUuid(endpointId)) details.webhook_endpoint_id = [endpointId == null ? 'value_is_mandatory' : 'value_is_invalid'];
  const dateField = (field: string, endOfDay: boolean) => {
    const value = raw[field];
    if (value == null) {
      details[field] = ['value_is_mandatory'];
      return undefined;
    }
    return parseDate(typeof value === 'string' ? value : '?', endOfDay, field, details);
  };
  const from = dateField('from_date', false);
  const to = dateField('to_date', true);
  if (from !== undefined && to !== undefined) {
    if (to < from) details.to_date = ['must_be_after_from_date'];
    else if (to - from > MAX_RECOVER_WINDOW_DAYS * 86_400_000) details.to_date = [`window_exceeds_${MAX_RECOVER_WINDOW_DAYS}_days`];
  }
  if (Object.keys(details).length > 0) throw validationFailed(details);
  if (!(await deps.store.getEndpoint(organizationId, endpointId as string))) throw notFound('webhook_endpoint');
  let recovered = 0;
  let before: string | undefined;
  const started = deps.now();
  for (;;) {
    const page = await deps.store.queryWebhooks({ organizationId, endpointId: endpointId as string, statuses: ['failed'], fromMs: from!, toMs: to!, limit: 100, ...(before ? { before } : {}) });
    // The index is eventually consistent: the item read by key decides.
    for (const log of page.items) if (log.status === 'failed' && (await reopen(deps, log))) recovered++;
    if (!page.last || recovered >= MAX_RECOVER_PER_CALL || deps.now() - started > RECOVER_TIME_BUDGET_MS) {
      deps.logger.info({ organization_id: organizationId, endpoint_id: endpointId, recovered }, 'webhooks recovered');
      return { recovered, has_more: Boolean(page.last) };
    }
    before = page.last;
  }
}

/**
 * Runs every minute. Sends the message of every webhook whose timer falls due within the lookahead,
 * delayed to the second; then finds webhooks left pending or retrying long past their schedule (a
 * message lost with a machine, an enqueue that failed) and queues them again, or fails them when
 * their round is over, so none is left hanging.
 */
export async function sweep(deps: WebhookDeps, limit = 500): Promise<{ scheduled: number; requeued: number; failed: number }> {
  const nowMs = deps.now();
  const now = new Date(nowMs).toISOString();
  let scheduled = 0;
  for (const log of await deps.store.findDueTimers(new Date(nowMs + TIMER_LOOKAHEAD_MS).toISOString(), limit)) {
    if (!log.timer || !isLive(log)) continue;
    // The timer is cleared first (a message never meets a set timer) and the webhook stays unqueued until its attempt is made.
    const written = await deps.store.updateWebhook(log, { ...log, timer: false, unqueued: true, updated_at: now });
    if (!written) continue;
    const due = log.next_attempt_at ? Date.parse(log.next_attempt_at) : nowMs;
    try {
      await deps.queue.send('fast', [nextAttemptMessage(written)], Math.max(0, Math.ceil((due - nowMs) / 1000)));
      scheduled++;
    } catch (error) {
      deps.logger.error({ err: error, webhook_id: log.id }, 'sweeper could not queue a timer\'s attempt');
    }
  }
  let requeued = 0;
  let failed = 0;
  for (const log of await deps.store.findOverdue(new Date(nowMs - deps.stuckAfterMs).toISOString(), limit)) {
    if (!isStuck(log, nowMs, deps.stuckAfterMs)) continue;
    if (log.round_attempts >= deps.maxAttempts) {
      const written = await deps.store.updateWebhook(log, { ...log, status: 'failed', error: log.error ?? 'retry schedule exhausted', unqueued: false, next_attempt_at: null, updated_at: now });
      if (written) {
        failed++;
        // Exhausted like any other: in the dead-letter queue, once, for a redrive.
        deps.metrics.record('WebhooksExhausted', 1);
        await deps.queue.deadLetter(nextAttemptMessage(written), 'exhausted').catch((error: unknown) => deps.logger.error({ err: error, webhook_id: log.id }, 'sweeper could not dead-letter an exhausted webhook'));
      }
      continue;
    }
    const written = await deps.store.updateWebhook(log, { ...log, next_attempt_at: now, updated_at: now });
    if (!written) continue;
    try {
      await deps.queue.send('fast', [nextAttemptMessage(written)]);
      requeued++;
    } catch (error) {
      deps.logger.error({ err: error, webhook_id: log.id }, 'sweeper could not enqueue');
    }
  }
  if (scheduled || requeued || failed) deps.logger.info({ scheduled, requeued, failed }, 'sweep done');
  return { scheduled, requeued, failed };
}
