import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { SenderHandler } from '#functions/sender.ts';

/**
 * Local stand-in for Lambda's SQS event source mapping: long-polls the queue, invokes the sender
 * with real SQS batch events, and deletes only the records not reported as batch item failures.
 * Messages it leaves behind come back when their visibility timeout ends, as on AWS, and SQS moves
 * them to the dead-letter queue after maxReceiveCount receives.
 */

export interface PollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: SenderHandler;
  /** Concurrent batches in flight. */
  concurrency: number;
  batchSize: number;
  onError: (error: unknown) => void;
  /** Receiving waits for this, so a backlog can be queued before the sender starts. @default - starts at once */
  started?: Promise<void>;
}

export interface Poller {
  stop(): Promise<void>;
}

function toRecord(message: import('@aws-sdk/client-sqs').Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(attributes.MessageGroupId ? { MessageGroupId: attributes.MessageGroupId } : {}),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  };
}

export function startPoller(options: PollerOptions): Poller {
  let running = true;
  const aborter = new AbortController();
  const loop = async () => {
    await options.started;
    while (running) {
      try {
        const { Messages = [] } = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: options.batchSize,
            WaitTimeSeconds: 2,
            MessageSystemAttributeNames: ['All'],
          }),
          { abortSignal: aborter.signal },
        );
        if (Messages.length === 0) continue;
        if (!running) return; // stopping: the messages come back after their visibility timeout
        const event: SQSEvent = { Records: Messages.map((m) => toRecord(m, options.queueArn)) };
        let failed = new Set(event.Records.map((r) => r.messageId));
        try {
          const response = await options.handler(event);
          failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
        } catch (error) {
          // A failed invocation keeps the whole batch, as Lambda does.
          options.onError(error);
        }
        const done = event.Records.filter((r) => !failed.has(r.messageId));
        if (done.length > 0) {
          await options.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
            }),
          );
        }
      } catch (error) {
        if (!running) return;
        options.onError(error);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };
  const loops = Array.from({ length: options.concurrency }, loop);
  return {
    async stop() {
      running = false;
      aborter.abort();
      await Promise.allSettled(loops);
    },
  };
}
