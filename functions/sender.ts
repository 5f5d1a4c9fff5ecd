import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { depsFromEnv } from '#shared/runtime/aws-deps.ts';
import { deliver } from '#shared/domain/delivery/deliver.ts';
import { forwardHops } from '#shared/domain/delivery/hops.ts';
import type { ReceivedMessage } from '#shared/domain/delivery/sender-deps.ts';
import type { Lane } from '#shared/domain/delivery/policy.ts';
import { senderDeps, type Deps } from '#shared/runtime/deps.ts';
import { lambdaHandler } from '#shared/runtime/lambda.ts';

export type SenderHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/**
 * The target of a lane's SQS event source: the batch's records are delivered side by side, and
 * Powertools' batch processor answers with the partial batch response. A record is reported as a
 * batch item failure only when its message could not be handled at all (SQS then gives it back
 * after the visibility timeout); every wait is a new message, never a kept one.
 */
export function createSenderHandler(deps: Deps, lane: Lane): SenderHandler {
  const sender = senderDeps(deps);
  const received = (record: SQSRecord): ReceivedMessage => ({
    messageId: record.messageId,
    body: record.body,
    receiveCount: Number(record.attributes.ApproximateReceiveCount ?? 1),
    lane,
  });
  const deliverRecord =
    (batch: BatchProgress) =>
    async (record: SQSRecord): Promise<void> => {
      try {
        await deliver(sender, { ...received(record), batchDone: batch.othersDone(record.messageId) });
      } catch (error) {
        deps.logger.error({ err: error, message_id: record.messageId }, 'delivery failed unexpectedly');
        throw error;
      } finally {
        batch.finished(record.messageId);
      }
    };
  return async (event) => {
    // Messages still waiting hop on together, one SendMessageBatch for the batch's hops (no read, no write).
    const { hopped, failed } = await forwardHops(sender, event.Records.map(received));
    const rest = event.Records.filter((r) => !hopped.has(r.messageId) && !failed.has(r.messageId));
    const batch = batchProgress(rest.map((r) => r.messageId));
    // A processor per batch: it holds the batch's records and failures, and the local pollers run batches side by side.
    // A batch whose every record failed is answered like any other, not thrown: each record is kept, the invocation does not fail.
    const response =
      rest.length > 0
        ? await processPartialResponse({ Records: rest }, deliverRecord(batch), new BatchProcessor(EventType.SQS), {
            throwOnFullBatchFailure: false,
          })
        : { batchItemFailures: [] };
    return {
      batchItemFailures: [...response.batchItemFailures, ...[...failed].map((itemIdentifier) => ({ itemIdentifier }))],
    };
  };
}

interface BatchProgress {
  /** Settles once every record of the batch but this one is finished. */
  othersDone(messageId: string): Promise<void>;
  finished(messageId: string): void;
}

/** Which records of a batch are finished: a fast-lane attempt still running once the others are is handed off. */
function batchProgress(messageIds: readonly string[]): BatchProgress {
  const done = new Map(messageIds.map((id) => [id, Promise.withResolvers<void>()]));
  return {
    othersDone: (messageId) =>
      Promise.all([...done].filter(([id]) => id !== messageId).map(([, d]) => d.promise)).then(() => undefined),
    finished: (messageId) => done.get(messageId)?.resolve(),
  };
}

const laneFromEnv = (): Lane => (process.env.LANE === 'slow' ? 'slow' : 'fast');
export const handler = lambdaHandler((runtime) => createSenderHandler(depsFromEnv(runtime), laneFromEnv()));
