import type { DelayedMessage } from '../ports.ts';
import { decodeMessage, isDrain, type DeliveryMessage, type LaneMessage } from './message.ts';
import { hopDelaySeconds, MAX_MESSAGE_DELAY_SECONDS, POISON_RECEIVE_COUNT, type Lane } from './policy.ts';
import type { ReceivedMessage, SenderDeps } from './sender-deps.ts';

/**
 * Waits longer than SQS's 15-minute delay, as chains of delayed messages (docs/delivery.md, "Waits
 * longer than 15 minutes"). Such a message carries its attempt's due time; received before it, it
 * is sent on, delayed again, with no store read and no write, until a hop lands it on its due time.
 * Hops take the fast lane, which a hanging receiver never holds for long; there the final message
 * is forwarded to the slow lane if its endpoint is slow. Nothing is stored and no worker walks a
 * list of timers, so there is no ceiling but SQS's and the senders' own.
 */

/** A message may arrive this early (clock skew) and still make its attempt. */
export const EARLY_TOLERANCE_MS = 1000;

/** Hops take the fast lane. */
const HOP_LANE: Lane = 'fast';

/** The hop a message received at `nowMs` makes, or undefined when its attempt is due (or it carries no due time). */
export function hopOf(message: LaneMessage, nowMs: number): DelayedMessage | undefined {
  if (isDrain(message) || message.dueAtMs === undefined || message.dueAtMs <= nowMs + EARLY_TOLERANCE_MS)
    return undefined;
  return { message, delaySeconds: hopDelaySeconds(message.dueAtMs - nowMs) };
}

/**
 * A message for an attempt due at `dueAtMs`, sent at `nowMs` to `lane`: delayed to the second when
 * SQS can; otherwise the first hop of a chain, on the fast lane, carrying its due time.
 */
export function sendingFor(
  message: DeliveryMessage,
  lane: Lane,
  dueAtMs: number,
  nowMs: number,
): { lane: Lane } & DelayedMessage {
  const remainingMs = dueAtMs - nowMs;
  if (remainingMs <= MAX_MESSAGE_DELAY_SECONDS * 1000) {
    const { dueAtMs: _due, ...rest } = message;
    return { lane, message: rest, delaySeconds: Math.max(0, Math.ceil(remainingMs / 1000)) };
  }
  return { lane: HOP_LANE, message: { ...message, dueAtMs }, delaySeconds: hopDelaySeconds(remainingMs) };
}

/** Sends one hop. */
export async function hop(deps: Pick<SenderDeps, 'queue'>, next: DelayedMessage): Promise<void> {
  await deps.queue.sendEach(HOP_LANE, [next]);
}

/**
 * The hops of a received batch, sent together (SendMessageBatch takes ten): returns the ids of the
 * records it finished (hopped) and of those it could not send (to be received again). The rest,
 * and messages back too often (poison), are the sender's to deliver one by one.
 */
export async function forwardHops(
  deps: Pick<SenderDeps, 'queue' | 'logger' | 'now'>,
  received: readonly ReceivedMessage[],
): Promise<{ hopped: Set<string>; failed: Set<string> }> {
  const nowMs = deps.now();
  const hops: { id: string; next: DelayedMessage }[] = [];
  for (const record of received) {
    if (record.receiveCount >= POISON_RECEIVE_COUNT - 1) continue;
    const message = decodeMessage(record.body);
    const next = message && hopOf(message, nowMs);
    if (next) hops.push({ id: record.messageId, next });
  }
  const ids = new Set(hops.map((h) => h.id));
  if (hops.length === 0) return { hopped: ids, failed: new Set() };
  try {
    await deps.queue.sendEach(
      HOP_LANE,
      hops.map((h) => h.next),
    );
    return { hopped: ids, failed: new Set() };
  } catch (error) {
    // Not finished: SQS gives them back after their visibility timeout, and they hop then.
    deps.logger.warn({ err: error, hops: hops.length }, 'hops not sent: received again later');
    return { hopped: new Set(), failed: ids };
  }
}
