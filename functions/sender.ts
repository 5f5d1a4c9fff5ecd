import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { depsFromEnv, lazy } from '#shared/adapters/aws-deps.ts';
import { deliver } from '#shared/delivery.ts';
import { senderDeps, type Deps } from '#shared/deps.ts';

export type SenderHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/**
 * The SQS event source's target: every record of the batch is delivered concurrently; records to
 * keep in the queue (a retry later, or on to the DLQ) are reported as batch item failures.
 */
export function createSenderHandler(deps: Deps): SenderHandler {
  const sender = senderDeps(deps);
  return async (event) => {
    const outcomes = await Promise.allSettled(
      event.Records.map((record) =>
        deliver(sender, {
          messageId: record.messageId,
          receiptHandle: record.receiptHandle,
          body: record.body,
          receiveCount: Number(record.attributes.ApproximateReceiveCount ?? 1),
        }),
      ),
    );
    const failures = outcomes.flatMap((outcome, i) => {
      if (outcome.status === 'fulfilled' && outcome.value === 'done') return [];
      if (outcome.status === 'rejected') deps.logger.error({ err: outcome.reason, message_id: event.Records[i]!.messageId }, 'delivery failed unexpectedly');
      return [{ itemIdentifier: event.Records[i]!.messageId }];
    });
    return { batchItemFailures: failures };
  };
}

const instance = lazy(() => createSenderHandler(depsFromEnv()));
export const handler: SenderHandler = (event) => instance()(event);
