import type { WebhookState } from '../model.ts';
import type { CarriedRecord, DeliveryMessage } from './message.ts';
import type { Lane } from './policy.ts';
import type { SenderDeps } from './sender-deps.ts';

/**
 * Writing an attempt's record once its POST is made. Making the attempt again because the write
 * failed (DynamoDB throttling a hot key, an outage) would POST the same webhook twice, so the write
 * is tried again with backoff, beyond the SDK's own retries; if the store still refuses it, a
 * message of its own carries the record (message.ts) and writes it later, sent again until it lands.
 * Only a queue that refuses that message too leaves the attempt to be made again.
 */

/** Tries of the record's write in this invocation, each after a pause twice the one before. */
const WRITE_TRIES = 4;
const FIRST_PAUSE_MS = 200;
/** A carried record comes back after 1, 2, 4… seconds, at most this long. */
const MAX_CARRY_DELAY_SECONDS = 30;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The conditional write of an attempt's record (undefined: the webhook changed meanwhile, its newer
 * state stands), tried again with backoff while the store fails; throws the last failure.
 */
export async function writeRecord(
  deps: Pick<SenderDeps, 'store'>,
  previous: WebhookState,
  next: WebhookState,
): Promise<WebhookState | undefined> {
  for (let tried = 1; ; tried++) {
    try {
      return await deps.store.updateWebhook(previous, next);
    } catch (error) {
      if (tried >= WRITE_TRIES) throw error;
      await pause(FIRST_PAUSE_MS * 2 ** (tried - 1) * (0.5 + Math.random()));
    }
  }
}

/** Sends the record to be written later, by a message on the lane of the attempt; throws if the queue refuses it. */
export async function carryRecord(
  deps: Pick<SenderDeps, 'queue' | 'logger'>,
  lane: Lane,
  message: DeliveryMessage,
  record: CarriedRecord,
  error: unknown,
): Promise<void> {
  const requeues = (message.requeues ?? 0) + 1;
  const delay = Math.min(MAX_CARRY_DELAY_SECONDS, 2 ** (requeues - 1));
  const { payload: _payload, ...named } = message;
  deps.logger.warn(
    {
      err: error,
      webhook_id: message.webhookId,
      attempt: record.state.attempt_count,
      requeues,
      retry_in_seconds: delay,
    },
    'attempt made but not recorded: its record is carried by a message until the store takes it',
  );
  await deps.queue.send(lane, [{ ...named, attempt: record.state.attempt_count, requeues, record }], delay);
}
