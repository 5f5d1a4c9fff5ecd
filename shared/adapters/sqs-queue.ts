import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  StartMessageMoveTaskCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  encodeMessage,
  endpointOf,
  messageGroup,
  type DeadLetterReason,
  type DeliveryMessage,
  type LaneMessage,
} from '../domain/delivery/message.ts';
import { MAX_MESSAGE_DELAY_SECONDS, type Lane } from '../domain/delivery/policy.ts';
import {
  UnsentMessagesError,
  type DeadLetterStatus,
  type DeadLetters,
  type DelayedMessage,
  type DeliveryQueue,
  type RedriveResult,
} from '../domain/ports.ts';

const SQS_BATCH = 10;

/**
 * SQS refuses a message body with a character outside #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD |
 * #x10000–#x10FFFF (U+FFFE and U+FFFF, for one), and the local emulator refuses the astral planes as
 * well. Our bodies are JSON, where such a character can only sit inside a string, so each UTF-16 code
 * unit outside the set both accept becomes its `\uXXXX` escape: the same JSON, any payload byte-exact
 * once decoded. An astral character takes 12 bytes in the message instead of 4.
 */
const REFUSED_BY_SQS = /[^\t\n\r\x20-\ud7ff\ue000-\ufffd]/g;
const sqsSafe = (json: string): string =>
  json.replace(REFUSED_BY_SQS, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
const encodeForSqs = (message: LaneMessage): string => sqsSafe(encodeMessage(message));

/**
 * The delivery lanes: one small message per webhook attempt (ids and the attempt number), grouped by
 * endpoint for fair queueing. A wait before an attempt is the message's own delay, so a waiting
 * webhook never holds a received message (nor one of SQS's in-flight slots).
 */
export class SqsDeliveryQueue implements DeliveryQueue {
  private readonly sqs: SQSClient;
  private readonly laneUrls: Record<Lane, string>;
  private readonly deadLetterUrl: string;

  constructor(sqs: SQSClient, laneUrls: Record<Lane, string>, deadLetterUrl: string) {
    this.sqs = sqs;
    this.laneUrls = laneUrls;
    this.deadLetterUrl = deadLetterUrl;
  }

  send(lane: Lane, messages: LaneMessage[], delaySeconds = 0): Promise<void> {
    return this.sendEach(
      lane,
      messages.map((message) => ({ message, delaySeconds })),
    );
  }

  /**
   * Every batch is tried, so one refused message or failed call leaves the others sent; the
   * webhooks' messages not sent (or, for a call that failed as a whole, maybe not sent) are named
   * by an UnsentMessagesError.
   */
  async sendEach(lane: Lane, entries: DelayedMessage[]): Promise<void> {
    const encoded = entries.map(({ message, delaySeconds }) => ({
      message,
      group: endpointOf(message),
      body: encodeForSqs(message),
      delay: Math.max(0, Math.min(MAX_MESSAGE_DELAY_SECONDS, Math.round(delaySeconds))),
    }));
    const unsent: LaneMessage[] = [];
    let reason: string | undefined;
    let cause: unknown;
    for (const batch of batches(encoded)) {
      try {
        const { Failed = [] } = await this.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: this.laneUrls[lane],
            Entries: batch.map(({ group, body, delay }, n) => ({
              Id: String(n),
              MessageBody: body,
              MessageGroupId: group,
              ...(delay > 0 ? { DelaySeconds: delay } : {}),
            })),
          }),
        );
        const failed = new Set(Failed.map((f) => f.Id));
        unsent.push(...batch.filter((_, n) => failed.has(String(n))).map((entry) => entry.message));
        reason ??= Failed[0] && `${Failed[0].Code ?? 'unknown'}${Failed[0].Message ? `: ${Failed[0].Message}` : ''}`;
      } catch (error) {
        unsent.push(...batch.map((entry) => entry.message));
        reason ??= (error as Error).message;
        cause ??= error;
      }
    }
    if (unsent.length > 0) throw new UnsentMessagesError(unsent, reason ?? 'unknown', { cause });
  }

  async deadLetter(message: DeliveryMessage | string, reason: DeadLetterReason): Promise<void> {
    const body = typeof message === 'string' ? message : encodeForSqs({ ...message, reason });
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.deadLetterUrl,
        MessageBody: body,
        MessageGroupId: messageGroup(body),
        MessageAttributes: { reason: { DataType: 'String', StringValue: reason } },
      }),
    );
  }
}

/** SendMessageBatch takes 10 messages and 256 KiB in all (the smallest limit a queue may have). */
const BATCH_BYTES = 250_000;

function batches<T extends { body: string }>(entries: T[]): T[][] {
  const out: T[][] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(entry.body);
    let current = out[out.length - 1];
    if (!current || current.length === SQS_BATCH || bytes + size > BATCH_BYTES) {
      out.push((current = []));
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  return out;
}

export interface DeadLetterOptions {
  deadLetterUrl: string;
  queueUrl: string;
  /** Use SQS's own StartMessageMoveTask (AWS); otherwise move by receive, send and delete (emulators lack it). */
  moveTask: boolean;
  deadLetterArn?: string;
  queueArn?: string;
}

export class SqsDeadLetters implements DeadLetters {
  private readonly sqs: SQSClient;
  private readonly options: DeadLetterOptions;

  constructor(sqs: SQSClient, options: DeadLetterOptions) {
    this.sqs = sqs;
    this.options = options;
  }

  async status(): Promise<DeadLetterStatus> {
    const { Attributes = {} } = await this.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.options.deadLetterUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    const count =
      Number(Attributes.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
    return { count, oldestAgeSeconds: count > 0 ? await this.oldestAge() : null };
  }

  /** SQS tells the oldest age only through CloudWatch; a peek (visibility 0) gives it here. */
  private async oldestAge(): Promise<number | null> {
    const { Messages = [] } = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.options.deadLetterUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 0,
        MessageSystemAttributeNames: ['SentTimestamp'],
      }),
    );
    const sent = Messages.map((m) => Number(m.Attributes?.SentTimestamp)).filter((t) => Number.isFinite(t));
    return sent.length ? Math.max(0, Math.round((Date.now() - Math.min(...sent)) / 1000)) : null;
  }

  async redrive(): Promise<RedriveResult> {
    return this.options.moveTask ? this.startMoveTask() : { moved: await this.redriveByCopy(), running: false };
  }

  /**
   * SQS moves the messages in the background; a Lambda behind API Gateway cannot wait for a large
   * queue. SQS runs one task per queue at a time, so a redrive already running is reported, not restarted.
   */
  private async startMoveTask(): Promise<RedriveResult> {
    const { deadLetterArn, queueArn } = this.options;
    if (!deadLetterArn || !queueArn) throw new Error('queue ARNs are required for a message move task');
    const { Results = [] } = await this.sqs.send(
      new ListMessageMoveTasksCommand({ SourceArn: deadLetterArn, MaxResults: 1 }),
    );
    const current = Results[0];
    if (current?.Status === 'RUNNING') return { moved: current.ApproximateNumberOfMessagesMoved ?? 0, running: true };
    await this.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: deadLetterArn, DestinationArn: queueArn }));
    return { moved: 0, running: true };
  }

  private async redriveByCopy(): Promise<number> {
    let moved = 0;
    for (;;) {
      const { Messages = [] } = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.options.deadLetterUrl,
          MaxNumberOfMessages: SQS_BATCH,
          VisibilityTimeout: 60,
          WaitTimeSeconds: 0,
        }),
      );
      if (Messages.length === 0) return moved;
      const failed: string[] = [];
      for (const batch of batches(Messages.map((m, n) => ({ id: String(n), body: m.Body ?? '{}' })))) {
        const { Failed = [] } = await this.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: this.options.queueUrl,
            Entries: batch.map((m) => ({ Id: m.id, MessageBody: m.body, MessageGroupId: messageGroup(m.body) })),
          }),
        );
        failed.push(...Failed.map((f) => f.Id ?? ''));
      }
      const sent = Messages.filter((_, n) => !failed.includes(String(n)));
      // Only what reached the delivery queue leaves the dead-letter queue: nothing is lost mid-move.
      if (sent.length > 0) {
        await this.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.options.deadLetterUrl,
            Entries: sent.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
      moved += sent.length;
      if (failed.length > 0)
        throw new Error(`redrive stopped after ${moved}: ${failed.length} message(s) could not be sent back`);
    }
  }
}
