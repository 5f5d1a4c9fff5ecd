import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { depsFromEnv, lazy } from '#shared/adapters/aws-deps.ts';
import { deliver } from '#shared/delivery.ts';
import type { Lane } from '#shared/delivery-policy.ts';
import { senderDeps, type Deps } from '#shared/deps.ts';

export type SenderHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/**
 * The target of a lane's SQS event source: the batch's records are delivered side by side. A record
 * is reported as a batch item failure only when its message could not be handled at all (SQS then
 * gives it back after the visibility timeout); every wait is a new message, never a kept one.
 */
export function createSenderHandler(deps: Deps, lane: Lane): SenderHandler {
  const sender = senderDeps(deps);
  return async (event) => {
    const outcomes = await Promise.allSettled(
      event.Records.map((record) =>
        deliver(sender, { messageId: record.messageId, body: record.body, receiveCount: Number(record.attributes.ApproximateReceiveCount ?? 1), lane }),
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

const laneFromEnv = (): Lane => (process.env.LANE === 'slow' ? 'slow' : 'fast');
const instance = lazy(() => createSenderHandler(depsFromEnv(), laneFromEnv()));
export const handler: SenderHandler = (event) => instance()(event);
