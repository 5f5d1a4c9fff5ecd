import { randomUUID } from 'node:crypto';
import { nextAttemptMessage } from '../delivery/message.ts';
import type { WebhookState } from '../model.ts';
import type { PublishIntent, WebhookRef, WebhookStore } from '../ports.ts';
import type { WebhookDeps } from './deps.ts';

/**
 * No publish leaves a webhook without a message (docs/delivery.md, "Nothing waits forever").
 *
 * Before a publish stores its webhooks it writes an intent, filed under the minute: the webhooks it
 * is about to store, under its process and a number. The process's next intent lists the publishes
 * it finished since (their messages sent, or their webhooks marked unqueued for the sweeper). The
 * sweeper reads each minute's intents once, when the minute after it is over too: an intent that no
 * intent of its process in those two minutes confirms (its process was killed, or published nothing
 * since) has its webhooks read, and those still pending, never attempted and not marked unqueued are
 * queued. A publish costs one more write (a small item, whatever the number of events it carries);
 * a delivery none; the sweeper reads the intents, and the webhooks of the few unconfirmed ones.
 */

/** Intents are filed by the minute. */
const MINUTE_MS = 60_000;
/** A minute is checked once the minute after it is over, with this margin for clocks and slow publishes. */
const CHECK_MARGIN_MS = 30_000;
/** At most this many minutes are checked per sweep (catching up after an outage). */
const MINUTES_PER_SWEEP = 30;
const SWEEP_MARK = 'intents';

/** What one publishing process remembers: who it is, its next number, and what finished since its last intent. */
export class PublishJournal {
  readonly publisher: string = randomUUID();
  private next = 1;
  private finished: number[] = [];

  /** The intent of a publish about to store `webhooks`, carrying the publishes finished since the previous one. */
  begin(webhooks: WebhookRef[], atMs: number): PublishIntent {
    const done = this.finished;
    this.finished = [];
    return { publisher: this.publisher, seq: this.next++, done, atMs, webhooks };
  }

  /** The publish numbered `seq` has queued its webhooks (or marked those it could not): the next intent says so. */
  end(seq: number): void {
    this.finished.push(seq);
  }
}

type RescueDeps = Pick<WebhookDeps<WebhookStore>, 'store' | 'queue' | 'logger' | 'now'>;

const minuteOf = (ms: number) => Math.floor(ms / MINUTE_MS) * MINUTE_MS;

/**
 * Checks every minute of intents not checked yet whose next minute is over, queues the webhooks of
 * publishes that never queued them, and returns how many it queued.
 */
export async function rescueUnqueued(deps: RescueDeps): Promise<number> {
  const last = minuteOf(deps.now() - CHECK_MARGIN_MS) - 2 * MINUTE_MS;
  let mark = await deps.store.readSweepMark(SWEEP_MARK);
  let rescued = 0;
  let later: PublishIntent[] | undefined;
  // The first sweep starts with the last checkable minute; a sweep after an outage catches up, a bounded stretch at a time.
  let minute = mark === undefined ? last : mark + MINUTE_MS;
  for (let n = 0; minute <= last && n < MINUTES_PER_SWEEP; n++, minute += MINUTE_MS) {
    const intents = later ?? (await deps.store.listIntents(minute));
    later = await deps.store.listIntents(minute + MINUTE_MS);
    rescued += await rescueMinute(deps, intents, later);
    // Moved after the work: a sweep that dies part-way leaves the minute to the next one. Another sweeper ahead goes on alone.
    if (!(await deps.store.moveSweepMark(SWEEP_MARK, mark, minute))) break;
    mark = minute;
  }
  return rescued;
}

/** Queues the webhooks of a minute's unconfirmed intents that were stored but never queued. */
async function rescueMinute(deps: RescueDeps, intents: PublishIntent[], later: PublishIntent[]): Promise<number> {
  const confirmed = new Set([...intents, ...later].flatMap((i) => i.done.map((seq) => `${i.publisher}#${seq}`)));
  const suspects = intents.filter((i) => !confirmed.has(`${i.publisher}#${i.seq}`));
  if (suspects.length === 0) return 0;
  const found = await deps.store.getWebhooks(suspects.flatMap((i) => i.webhooks));
  const lost = found.filter(neverQueued);
  for (const webhook of lost) {
    try {
      await deps.queue.send('fast', [nextAttemptMessage(webhook)]);
    } catch (error) {
      deps.logger.error({ err: error, webhook_id: webhook.id }, 'could not queue a webhook its publish never queued');
      await deps.store.updateWebhook(webhook, { ...webhook, unqueued: true }).catch(() => undefined);
    }
  }
  if (lost.length > 0)
    deps.logger.warn(
      { webhook_ids: lost.map((w) => w.id), publishers: [...new Set(suspects.map((i) => i.publisher))] },
      'webhooks stored by a publish that never queued them: queued now',
    );
  return lost.length;
}

/** Stored, never attempted, with nothing else holding its next attempt. */
const neverQueued = (webhook: WebhookState) =>
  webhook.status === 'pending' && webhook.attempt_count === 0 && !webhook.unqueued && !webhook.parked && !webhook.timer;
