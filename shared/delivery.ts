import { postWebhook, type PostResult } from './http-client.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { Attempt, WebhookEndpoint, WebhookLog, WebhookState } from './model.ts';
import type { DeliveryMessage, DeliveryQueue, Store } from './ports.ts';
import { nextDelaySeconds, parseRetryAfter } from './retry-schedule.ts';
import { hmacSecretName, signingKeySecretName, type CachedSecrets } from './secrets.ts';
import { signHmac, signJwt, signStandardWebhook } from './signing.ts';
import type { Cidr } from './ssrf.ts';
import { deliveryMessage, isStuck } from './webhooks.ts';

/**
 * One delivery attempt per SQS message receive. The webhook's state lives in DynamoDB and every
 * write is conditional on its version, so a duplicate message never makes a second attempt or
 * counts one twice:
 * - a message that does not own the webhook's current round is a duplicate and is dropped;
 * - a message that arrives early is hidden again until the webhook is due;
 * - after a failure the message is hidden for the backoff (ChangeMessageVisibility);
 * - after the last attempt of a round it is released so SQS moves it to the dead-letter queue.
 * A new message for a failed webhook is a redrive (SQS gives moved messages new ids): a fresh round.
 */

export const SUCCESS_STATUSES: readonly number[] = [200, 201, 202, 204];
export const RESPONSE_BODY_LIMIT = 16 * 1024;
/** Attempts kept in the log item (older ones are dropped; the count stays exact). */
const ATTEMPTS_KEPT = 50;
const EARLY_TOLERANCE_MS = 1000;

export const USER_AGENT = 'lago-webhooks-aws/0.1 (+https://github.com/getlago/lago compatible)';

export interface SenderDeps {
  store: Store;
  queue: DeliveryQueue;
  secrets: CachedSecrets;
  secretsPrefix: string;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
  retrySchedule: readonly number[];
  timeoutMs: number;
  allow: readonly Cidr[];
  allowHttp: boolean;
  issuer: string;
  stuckAfterMs: number;
  /** The queue's maxReceiveCount: a message received this often goes to the DLQ when released. */
  maxReceiveCount: number;
}

export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  receiveCount: number;
}

/** done: delete the message; keep: leave it in the queue (reported as a batch item failure). */
export type Disposition = 'done' | 'keep';

function parseBody(body: string): DeliveryMessage | undefined {
  try {
    const parsed = JSON.parse(body) as { webhook_id?: unknown; endpoint_id?: unknown; organization_id?: unknown };
    if (typeof parsed.webhook_id === 'string' && typeof parsed.endpoint_id === 'string' && typeof parsed.organization_id === 'string') {
      return { webhookId: parsed.webhook_id, endpointId: parsed.endpoint_id, organizationId: parsed.organization_id };
    }
  } catch {
    // fall through
  }
  return undefined;
}

export async function deliver(deps: SenderDeps, message: ReceivedMessage): Promise<Disposition> {
  const ids = parseBody(message.body);
  if (!ids) {
    deps.logger.error({ message_id: message.messageId }, 'unreadable delivery message dropped');
    return 'done';
  }
  // The message names the endpoint, so both reads go out at once; the log's own ids are the truth.
  const [log, named] = await Promise.all([deps.store.getWebhook(ids.webhookId), deps.store.getEndpoint(ids.organizationId, ids.endpointId)]);
  if (!log || log.status === 'succeeded') return 'done';
  const nowMs = deps.now();
  const context = { webhook_id: log.id, organization_id: log.organization_id, endpoint_id: log.endpoint_id };

  const redrive = log.status === 'failed';
  // Redriven messages are new messages (new ids); the round's own message coming back is a stale copy.
  if (redrive && log.owner === message.messageId) return 'done';
  if (!redrive) {
    if (log.owner !== null && log.owner !== message.messageId && !isStuck(log, nowMs, deps.stuckAfterMs)) {
      deps.logger.info({ ...context, message_id: message.messageId }, 'duplicate message dropped');
      return 'done';
    }
    const due = log.next_attempt_at ? Date.parse(log.next_attempt_at) : nowMs;
    if (due > nowMs + EARLY_TOLERANCE_MS) {
      await deps.queue.delay(message.receiptHandle, Math.ceil((due - nowMs) / 1000));
      return 'keep';
    }
    if ((log.lease_until ?? 0) > nowMs) return 'keep';
  }

  // Checked only now, so a duplicate never ends a webhook while its owner's attempt is in flight.
  const endpoint = log.organization_id === ids.organizationId && log.endpoint_id === ids.endpointId ? named : await deps.store.getEndpoint(log.organization_id, log.endpoint_id);
  if (!endpoint) {
    if (log.status !== 'failed') {
      const now = new Date(nowMs).toISOString();
      await deps.store.updateWebhook(log, { ...log, status: 'failed', error: 'the webhook endpoint was deleted', owner: message.messageId, lease_until: null, next_attempt_at: null, updated_at: now });
      deps.logger.info(context, 'endpoint deleted: webhook failed without an attempt');
    }
    return 'done';
  }

  const nowIso = new Date(nowMs).toISOString();
  const claimed = await deps.store.updateWebhook(log, {
    ...log,
    status: redrive ? 'retrying' : log.status,
    round_attempts: redrive ? 0 : log.round_attempts,
    owner: message.messageId,
    lease_until: nowMs + deps.timeoutMs + 60_000,
    updated_at: nowIso,
  });
  // Someone else changed the webhook first; the message comes back after its visibility timeout.
  if (!claimed) return 'keep';

  const started = deps.now();
  // Whatever goes wrong while signing or sending is a failed attempt, so the round always advances.
  const result = await attempt(deps, { ...claimed, payload: log.payload }, endpoint, started).catch((error: unknown): PostResult => ({ ok: false, kind: 'network', error: `internal: ${(error as Error).message}` }));
  const finished = deps.now();
  return record(deps, message, claimed, endpoint, result, started, finished);
}

async function attempt(deps: SenderDeps, log: WebhookLog, endpoint: WebhookEndpoint, nowMs: number): Promise<PostResult> {
  const token = await deps.secrets.get(hmacSecretName(deps.secretsPrefix, log.organization_id));
  if (!token) return { ok: false, kind: 'network', error: 'the organization signing token is unavailable' };
  let signature: string;
  if (endpoint.signature_algo === 'hmac') {
    signature = signHmac(token, log.payload);
  } else {
    const key = await deps.secrets.get(signingKeySecretName(deps.secretsPrefix));
    if (!key) return { ok: false, kind: 'network', error: 'the signing key is unavailable' };
    signature = await signJwt(key, log.payload, deps.issuer);
  }
  const timestamp = Math.floor(nowMs / 1000);
  const headers = {
    'Content-Type': 'application/json',
    'User-Agent': USER_AGENT,
    'X-Lago-Signature': signature,
    'X-Lago-Signature-Algorithm': endpoint.signature_algo,
    'X-Lago-Unique-Key': log.id,
    'webhook-id': log.id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signStandardWebhook(token, log.id, timestamp, log.payload),
  };
  return postWebhook(endpoint.webhook_url, headers, log.payload, {
    timeoutMs: deps.timeoutMs,
    allow: deps.allow,
    allowHttp: deps.allowHttp,
    maxResponseBytes: RESPONSE_BODY_LIMIT,
  });
}

async function record(
  deps: SenderDeps,
  message: ReceivedMessage,
  log: WebhookState,
  endpoint: WebhookEndpoint,
  result: PostResult,
  started: number,
  finished: number,
): Promise<Disposition> {
  const httpStatus = result.ok ? result.status : null;
  const succeeded = result.ok && SUCCESS_STATUSES.includes(result.status);
  const error = result.ok ? (succeeded ? null : `unexpected http status ${result.status}`) : result.error;
  const entry: Attempt = { number: log.attempt_count + 1, at: new Date(started).toISOString(), http_status: httpStatus, error, duration_ms: finished - started };
  const round = log.round_attempts + 1;
  const delay = succeeded
    ? undefined
    : nextDelaySeconds(deps.retrySchedule, round, {
        httpStatus,
        timedOut: !result.ok && result.kind === 'timeout',
        retryAfterSeconds: result.ok ? parseRetryAfter(result.retryAfter, finished) : null,
      });
  const status = succeeded ? 'succeeded' : delay === undefined ? 'failed' : 'retrying';
  const now = new Date(finished).toISOString();
  const written = await deps.store.updateWebhook(log, {
    ...log,
    status,
    attempt_count: log.attempt_count + 1,
    round_attempts: round,
    attempts: [...log.attempts, entry].slice(-ATTEMPTS_KEPT),
    http_status: httpStatus,
    response_body: result.ok ? result.body : null,
    error,
    endpoint_url: endpoint.webhook_url,
    next_attempt_at: delay === undefined ? null : new Date(finished + delay * 1000).toISOString(),
    lease_until: null,
    updated_at: now,
  });
  const context = { webhook_id: log.id, organization_id: log.organization_id, endpoint_id: log.endpoint_id, attempt: entry.number, http_status: httpStatus, duration_ms: entry.duration_ms };
  deps.metrics.record('EndpointResponseTime', entry.duration_ms, 'Milliseconds');
  if (!written) {
    deps.logger.warn(context, 'webhook changed during the attempt; its newer state stands');
    return 'done';
  }
  if (succeeded) {
    deps.metrics.record('DeliveriesSucceeded', 1);
    deps.logger.info(context, 'webhook delivered');
    return 'done';
  }
  deps.metrics.record('DeliveryAttemptsFailed', 1);
  if (delay !== undefined) {
    deps.logger.info({ ...context, error, retry_in_seconds: delay }, 'delivery attempt failed');
    await deps.queue.delay(message.receiptHandle, delay);
    return 'keep';
  }
  deps.metrics.record('WebhooksExhausted', 1);
  deps.logger.warn({ ...context, error }, 'webhook failed: retry schedule exhausted');
  if (message.receiveCount >= deps.maxReceiveCount) {
    // Released, the message moves to the dead-letter queue on its next receive (redrive policy).
    // One second rather than zero: the emulator's persistent mode loses messages released with 0.
    await deps.queue.delay(message.receiptHandle, 1);
    return 'keep';
  }
  // The round began on a later receive than the first (a redrive): move the message explicitly.
  await deps.queue.deadLetter(deliveryMessage(log));
  return 'done';
}
