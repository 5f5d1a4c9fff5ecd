import { DeleteMessageBatchCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { answer, type Json, type Verdict, type WireAnswer, type WireModel } from './wire.ts';

/**
 * SQS's in-flight cap and message retention, which fauxqs does not enforce (fauxqs 2.4 keeps
 * MessageRetentionPeriod as an attribute only). The cap is scaled like DynamoDB's throughput; the
 * retention is a duration and stays each queue's own unless a test overrides it.
 */

/**
 * Messages received and not yet deleted, per queue, standard or FIFO: SQS developer guide, "Amazon
 * SQS standard queue quotas" and "FIFO queue quotas". At the cap a standard queue answers a short
 * poll OverLimit; a long poll, and any receive from a FIFO queue, just gets no messages.
 */
const AWS_IN_FLIGHT = 120_000;
/** A queue's state is read again after this long, or sooner when the count kept may have reached the cap. */
const STATE_TTL_MS = 1_000;
/** How often a long poll held at the cap looks for room. */
const ROOM_POLL_MS = 100;
const DELETE_BATCH = 10;

export interface SqsReport {
  inFlightCap: number;
  /** Every queue's retention when overridden (AWS_LIMITS_RETENTION_SECONDS); otherwise each queue's own. */
  retentionSeconds?: number;
  /** Short polls answered OverLimit at the cap. */
  overLimit: number;
  /** Receives answered with no messages at the cap, as SQS answers a long poll or a FIFO queue. */
  heldAtCap: number;
  /** Messages older than their queue's retention, deleted instead of delivered. */
  expired: number;
}

interface QueueState {
  inFlight: number;
  retentionSeconds: number;
  waitSeconds: number;
}

interface Message {
  ReceiptHandle?: string;
  Attributes?: Record<string, string>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SQS's answer at the cap: HTTP 403, the OverLimit type, and the query-compatible code the SDK reads. */
const overLimit = () =>
  answer(
    403,
    { __type: 'com.amazonaws.sqs#OverLimit', message: 'The maximum number of in flight messages has been reached.' },
    { 'x-amzn-query-error': 'OverLimit;Sender' },
  );

export interface SqsSettings {
  scale: number;
  retentionSeconds?: number;
  now: () => number;
}

export class SqsLimits implements WireModel {
  private readonly client: () => SQSClient;
  private readonly settings: SqsSettings;
  private readonly cap: number;
  private readonly totals = { overLimit: 0, heldAtCap: 0, expired: 0 };
  /** The last state read per queue, its in-flight count raised by what was received since: never below the truth. */
  private readonly known = new Map<string, { state: QueueState; at: number }>();

  /** `client`: the model's own client to the emulator, for queue attributes and deleting expired messages. */
  constructor(settings: SqsSettings, client: () => SQSClient) {
    this.settings = settings;
    this.client = client;
    this.cap = Math.max(1, Math.round(AWS_IN_FLIGHT * settings.scale));
  }

  handles(operation: string): boolean {
    return operation === 'ReceiveMessage';
  }

  async admit(operation: string, body: Json): Promise<Verdict | undefined> {
    if (!this.handles(operation) || typeof body.QueueUrl !== 'string') return undefined;
    const url = body.QueueUrl;
    const cap = this.cap;
    let state = await this.state(url, cap);
    if (!state) return undefined;
    const wait = typeof body.WaitTimeSeconds === 'number' ? body.WaitTimeSeconds : state.waitSeconds;
    const deadline = Date.now() + wait * 1000;
    if (state.inFlight < cap) return this.receive(body, url, state, cap - state.inFlight);
    // At the cap SQS refuses a short poll on a standard queue; a long poll or a FIFO queue just gets no messages.
    if (wait <= 0 && !url.endsWith('.fifo')) {
      this.totals.overLimit++;
      return { answer: overLimit() };
    }
    state = await this.room(url, cap, deadline);
    if (!state) {
      this.totals.heldAtCap++;
      return { answer: answer(200, {}) };
    }
    // What is left of the long poll's wait.
    const left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
    return this.receive({ ...body, WaitTimeSeconds: left }, url, state, cap - state.inFlight);
  }

  report(): SqsReport {
    const { retentionSeconds } = this.settings;
    return {
      inFlightCap: this.cap,
      ...(retentionSeconds !== undefined ? { retentionSeconds } : {}),
      ...this.totals,
    };
  }

  /** The queue's state, read from the emulator unless a recent read shows room under the cap. */
  private async state(url: string, cap: number): Promise<QueueState | undefined> {
    const known = this.known.get(url);
    if (known && Date.now() - known.at < STATE_TTL_MS && known.state.inFlight < cap) return known.state;
    const state = await this.read(url);
    if (state) this.known.set(url, { state, at: Date.now() });
    else this.known.delete(url);
    return state;
  }

  /** Counts messages received (or, negative, messages a receive reserved room for and did not get). */
  private received(url: string, count: number): void {
    const known = this.known.get(url);
    if (known) known.state.inFlight += count;
  }

  private async read(url: string): Promise<QueueState | undefined> {
    try {
      const { Attributes = {} } = await this.client().send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: [
            'ApproximateNumberOfMessagesNotVisible',
            'MessageRetentionPeriod',
            'ReceiveMessageWaitTimeSeconds',
          ],
        }),
      );
      return {
        inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
        retentionSeconds: Number(Attributes.MessageRetentionPeriod ?? 345_600),
        waitSeconds: Number(Attributes.ReceiveMessageWaitTimeSeconds ?? 0),
      };
    } catch {
      return undefined; // no such queue: the emulator says so itself
    }
  }

  /** Waits for in-flight messages to drop below the cap, until the long poll's deadline. */
  private async room(url: string, cap: number, deadline: number): Promise<QueueState | undefined> {
    while (Date.now() < deadline) {
      await sleep(ROOM_POLL_MS);
      this.known.delete(url);
      const state = await this.state(url, cap);
      if (state && state.inFlight < cap) return state;
    }
    return undefined;
  }

  /** The receive as sent: never more messages than the cap has room for, and with the send time, to judge retention. */
  private receive(body: Json, url: string, state: QueueState, room: number): Verdict {
    const asked = [
      ...((body.MessageSystemAttributeNames ?? []) as string[]),
      ...((body.AttributeNames ?? []) as string[]),
    ];
    const addTimestamp = !asked.includes('All') && !asked.includes('SentTimestamp');
    const requested = typeof body.MaxNumberOfMessages === 'number' ? body.MaxNumberOfMessages : 1;
    const max = Math.min(requested, room);
    this.received(url, max); // room taken now, so concurrent receives do not share it
    const sent: Json = { ...body, MaxNumberOfMessages: max };
    if (addTimestamp)
      sent.MessageSystemAttributeNames = [...((body.MessageSystemAttributeNames ?? []) as string[]), 'SentTimestamp'];
    const retention = this.settings.retentionSeconds ?? state.retentionSeconds;
    return {
      body: sent,
      settle: async (response) => {
        const kept = await this.withoutExpired(url, response, retention, addTimestamp);
        this.received(url, ((kept.Messages ?? []) as Message[]).length - max);
        return kept;
      },
      abandon: () => this.received(url, -max),
    };
  }

  /** Messages past their retention are gone on SQS: deleted here, and not handed to the caller. */
  private async withoutExpired(url: string, response: WireAnswer, retention: number, strip: boolean): Promise<Json> {
    const messages = (response.body.Messages ?? []) as Message[];
    if (response.status !== 200 || messages.length === 0) return response.body;
    const now = this.settings.now();
    const expired = (m: Message) => now - Number(m.Attributes?.SentTimestamp ?? now) > retention * 1000;
    const gone = messages.filter(expired);
    for (let i = 0; i < gone.length; i += DELETE_BATCH) {
      const entries = gone
        .slice(i, i + DELETE_BATCH)
        .map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle }));
      await this.client().send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: entries }));
    }
    this.totals.expired += gone.length;
    const kept = messages.filter((m) => !expired(m)).map((m) => (strip ? withoutSentTimestamp(m) : m));
    const { Messages: _all, ...rest } = response.body;
    return kept.length > 0 ? { ...rest, Messages: kept } : rest;
  }
}

function withoutSentTimestamp(message: Message): Message {
  const { SentTimestamp: _sent, ...attributes } = message.Attributes ?? {};
  const { Attributes: _attributes, ...rest } = message;
  return Object.keys(attributes).length > 0 ? { ...rest, Attributes: attributes } : rest;
}
