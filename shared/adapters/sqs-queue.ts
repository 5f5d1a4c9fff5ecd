import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  StartMessageMoveTaskCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DeadLetterStatus, DeadLetters, DeliveryMessage, DeliveryQueue, RedriveResult } from '../ports.ts';

const SQS_BATCH = 10;

export function messageBody(message: DeliveryMessage): string {
  return JSON.stringify({ webhook_id: message.webhookId, endpoint_id: message.endpointId, organization_id: message.organizationId });
}

/** The delivery queue: one small message per webhook (ids only), grouped by endpoint for fair queueing. */
export class SqsDeliveryQueue implements DeliveryQueue {
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;
  private readonly deadLetterUrl: string;

  constructor(sqs: SQSClient, queueUrl: string, deadLetterUrl: string) {
    this.sqs = sqs;
    this.queueUrl = queueUrl;
    this.deadLetterUrl = deadLetterUrl;
  }

  async enqueue(messages: DeliveryMessage[]): Promise<void> {
    for (let i = 0; i < messages.length; i += SQS_BATCH) {
      const batch = messages.slice(i, i + SQS_BATCH);
      const { Failed = [] } = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((m, n) => ({ Id: String(n), MessageBody: messageBody(m), MessageGroupId: m.endpointId })),
        }),
      );
      if (Failed.length > 0) throw new Error(`could not enqueue ${Failed.length} webhook(s): ${Failed[0]?.Code ?? 'unknown'}`);
    }
  }

  async delay(receiptHandle: string, seconds: number): Promise<void> {
    await this.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
  }

  async deadLetter(message: DeliveryMessage): Promise<void> {
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.deadLetterUrl, MessageBody: messageBody(message), MessageGroupId: message.endpointId }));
  }
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
      new GetQueueAttributesCommand({ QueueUrl: this.options.deadLetterUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    const count = Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
    return { count, oldestAgeSeconds: count > 0 ? await this.oldestAge() : null };
  }

  /** SQS tells the oldest age only through CloudWatch; a peek (visibility 0) gives it here. */
  private async oldestAge(): Promise<number | null> {
    const { Messages = [] } = await this.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: this.options.deadLetterUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0, MessageSystemAttributeNames: ['SentTimestamp'] }),
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
    const { Results = [] } = await this.sqs.send(new ListMessageMoveTasksCommand({ SourceArn: deadLetterArn, MaxResults: 1 }));
    const current = Results[0];
    if (current?.Status === 'RUNNING') return { moved: current.ApproximateNumberOfMessagesMoved ?? 0, running: true };
    await this.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: deadLetterArn, DestinationArn: queueArn }));
    return { moved: 0, running: true };
  }

  private async redriveByCopy(): Promise<number> {
    let moved = 0;
    for (;;) {
      const { Messages = [] } = await this.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: this.options.deadLetterUrl, MaxNumberOfMessages: SQS_BATCH, VisibilityTimeout: 60, WaitTimeSeconds: 0 }),
      );
      if (Messages.length === 0) return moved;
      const { Failed = [] } = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: Messages.map((m, n) => ({ Id: String(n), MessageBody: m.Body ?? '{}', MessageGroupId: groupOf(m.Body) })),
        }),
      );
      const sent = Messages.filter((_, n) => !Failed.some((f) => f.Id === String(n)));
      // Only what reached the delivery queue leaves the dead-letter queue: nothing is lost mid-move.
      if (sent.length > 0) {
        await this.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: this.options.deadLetterUrl, Entries: sent.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle! })) }));
      }
      moved += sent.length;
      if (Failed.length > 0) throw new Error(`redrive stopped after ${moved}: ${Failed.length} message(s) could not be sent back`);
    }
  }
}

function groupOf(body: string | undefined): string {
  try {
    const parsed = JSON.parse(body ?? '{}') as { endpoint_id?: unknown };
    return typeof parsed.endpoint_id === 'string' ? parsed.endpoint_id : 'redrive';
  } catch {
    return 'redrive';
  }
}
