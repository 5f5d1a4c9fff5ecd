import { getEndpoint } from '../endpoints/endpoints.ts';
import { conflict } from '../errors.ts';
import { derivedUuidv7, idTime } from '../ids.ts';
import { FINAL_STATUSES, type Webhook, type WebhookEndpoint, type WebhookState, type WebhookStatus } from '../model.ts';
import type { EndpointStore, WebhookPage, WebhookStore } from '../ports.ts';
import { isoMs } from '../time.ts';
import { parseBody } from '../validation.ts';
import type { WebhookDeps } from './deps.ts';
import { startRound } from './lifecycle.ts';
import { newWebhook } from './new-webhook.ts';
import { enqueueOrFail } from './publish.ts';
import { MAX_RECOVER_PER_CALL, RECOVER_TIME_BUDGET_MS } from './recovery.ts';
import { ReplayRequest } from './schemas.ts';

/**
 * Replay of a window into one endpoint (beyond Lago): every event of the organization in the window
 * that the endpoint listens to is sent to it again, succeeded ones included, for a receiver that
 * lost data. An event is the set of webhooks one publish made for it, one per endpoint: they share
 * their creation time to the millisecond (their ids' time), their type and their object.
 * - The endpoint's own webhook of an event is delivered again as a resend: a new round, under its
 *   unique key. One still live (pending, retrying) is on its way already and is left alone.
 * - An event the endpoint has no webhook of (it did not exist, or did not listen to the type, when it
 *   was published) gets one, from another endpoint's copy: its id, the unique key, derives from that
 *   copy's id and this endpoint's, at the event's time, so a later replay finds it and resends it
 *   under the same key, and two replays at once write it once.
 * The window is read page by page from the organization's log, newest first, in bounded memory; a
 * call stops after 5,000 webhooks or 20 s and says where the next call goes on (`next_to_date`).
 */

type ReplayDeps = Pick<
  WebhookDeps<Pick<EndpointStore, 'getEndpoint'> & WebhookStore>,
  'store' | 'queue' | 'logger' | 'now' | 'rateLimits'
>;

const PAGE = 100;
/** Events replayed side by side. */
const PARALLEL = 10;

interface ReplayFilter {
  endpoint: WebhookEndpoint;
  statuses: readonly WebhookStatus[] | undefined;
}

export async function replayWebhooks(deps: ReplayDeps, organizationId: string, endpointId: string, body: unknown) {
  const request = parseBody(ReplayRequest, body);
  const endpoint = await getEndpoint(deps.store, organizationId, endpointId);
  if (endpoint.disabled_at_ms)
    throw conflict('webhook_endpoint_disabled', 'the webhook endpoint is disabled: enable it, then replay');
  await deps.rateLimits.take('recovery', organizationId);
  const types = typesToReplay(endpoint, request.webhook_types);
  const filter = { endpoint, statuses: request.statuses };
  const started = deps.now();
  let replayed = 0;
  let before: string | undefined;
  // The webhooks of the oldest millisecond of a page may go on in the next one: an event's webhooks are replayed together.
  let held: WebhookState[] = [];
  for (;;) {
    const page: WebhookPage =
      types?.length === 0
        ? { items: [] }
        : await deps.store.queryWebhooks({
            organizationId,
            ...(types ? { webhookTypes: types } : {}),
            fromMs: request.from_date,
            toMs: request.to_date,
            limit: PAGE,
            ...(before ? { before } : {}),
          });
    const items = [...held, ...page.items.filter((webhook) => !webhook.test)];
    const oldestMs = page.last ? idTime(page.last) : undefined;
    held = items.filter((webhook) => idTime(webhook.id) === oldestMs);
    replayed += await replayEvents(
      deps,
      filter,
      items.filter((webhook) => idTime(webhook.id) !== oldestMs),
    );
    if (oldestMs === undefined) return finish(deps, endpoint, replayed, undefined);
    if (replayed >= MAX_RECOVER_PER_CALL || deps.now() - started > RECOVER_TIME_BUDGET_MS)
      return finish(deps, endpoint, replayed, oldestMs);
    before = page.last;
  }
}

/** The types to replay: those asked for (all when none) that the endpoint listens to; undefined is every type. */
function typesToReplay(endpoint: WebhookEndpoint, asked: readonly string[] | undefined): string[] | undefined {
  const listened = endpoint.event_types;
  if (!asked) return listened ?? undefined;
  return listened ? asked.filter((type) => listened.includes(type)) : [...asked];
}

function finish(deps: ReplayDeps, endpoint: WebhookEndpoint, replayed: number, goOnAtMs: number | undefined) {
  deps.logger.info(
    { organization_id: endpoint.organization_id, endpoint_id: endpoint.id, replayed, more: goOnAtMs !== undefined },
    'webhooks replayed',
  );
  return { replayed, has_more: goOnAtMs !== undefined, next_to_date: goOnAtMs === undefined ? null : isoMs(goOnAtMs) };
}

/** The webhooks of each event, by creation time, type and object. */
function eventsOf(webhooks: WebhookState[]): WebhookState[][] {
  const events = new Map<string, WebhookState[]>();
  for (const webhook of webhooks) {
    const key = [idTime(webhook.id), webhook.webhook_type, webhook.object_type, webhook.object_id].join('#');
    const event = events.get(key);
    if (event) event.push(webhook);
    else events.set(key, [webhook]);
  }
  return [...events.values()];
}

/** Replays each event of these webhooks into the endpoint; returns how many were queued. */
async function replayEvents(deps: ReplayDeps, filter: ReplayFilter, webhooks: WebhookState[]): Promise<number> {
  const queued: WebhookState[] = [];
  const events = eventsOf(webhooks);
  for (let i = 0; i < events.length; i += PARALLEL) {
    const done = await Promise.all(events.slice(i, i + PARALLEL).map((event) => replayEvent(deps, filter, event)));
    for (const webhook of done) if (webhook) queued.push(webhook);
  }
  // Each is marked unqueued until its attempt: a message that cannot be sent leaves it to the sweeper.
  if (queued.length > 0) await enqueueOrFail(deps, queued);
  return queued.length;
}

/** One event into the endpoint: its own webhook resent, or a new one from another endpoint's copy; undefined if none. */
async function replayEvent(
  deps: ReplayDeps,
  { endpoint, statuses }: ReplayFilter,
  event: WebhookState[],
): Promise<WebhookState | undefined> {
  const own = event.find((webhook) => webhook.endpoint_id === endpoint.id);
  if (own) {
    if (statuses && !statuses.includes(own.status)) return undefined;
    // Live, it is on its way already.
    if (!FINAL_STATUSES.includes(own.status)) return undefined;
    return startRound(deps, own);
  }
  const copies = event.filter((webhook) => !statuses || statuses.includes(webhook.status));
  const [source] = copies.sort((a, b) => (a.id < b.id ? -1 : 1));
  if (!source) return undefined;
  const original = await deps.store.getWebhook(source.organization_id, source.id, source.endpoint_id);
  if (!original) return undefined;
  const webhook = replayedWebhook(original, endpoint, deps.now());
  const [outcome] = await deps.store.createWebhookSets([{ webhooks: [webhook], onlyIfAbsent: true }]);
  if (outcome && 'failed' in outcome) throw outcome.failed;
  const { payload: _payload, ...state } = webhook;
  return state;
}

/** The endpoint's webhook of an event it never had: at the event's time, under an id derived from the copy's and the endpoint's. */
function replayedWebhook(original: Webhook, endpoint: WebhookEndpoint, nowMs: number): Webhook {
  const createdMs = original.created_at_ms;
  return {
    ...newWebhook({
      id: derivedUuidv7(idTime(original.id), `replay#${original.id}#${endpoint.id}`),
      organization_id: endpoint.organization_id,
      endpoint_id: endpoint.id,
      endpoint_url: endpoint.webhook_url,
      webhook_type: original.webhook_type,
      object_type: original.object_type,
      object_id: original.object_id,
      payload: original.payload,
      atMs: createdMs,
    }),
    next_attempt_at_ms: nowMs,
    updated_at_ms: nowMs,
    unqueued: true,
  };
}
