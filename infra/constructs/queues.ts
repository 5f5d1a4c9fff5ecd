import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { maxReceiveCount, QUEUES, senderTimeoutSeconds, visibilityTimeoutSeconds } from '../definitions.ts';

export interface DeliveryQueuesProps {
  /** Seconds to wait before each retry: one receive per attempt gives maxReceiveCount. Required (the stack's default: DEFAULT_RETRY_SCHEDULE). */
  readonly retrySchedule: readonly number[];
  /** Timeout of one delivery attempt: it sets the sender's timeout, and so the visibility timeout. Required (the stack's default: 15 000). */
  readonly webhookTimeoutMs: number;
  /** What happens to the queues (and the messages in them) when they leave the stack. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The delivery queue and its dead-letter queue, configured from QUEUES in infra/definitions.ts like
 * the local ones. Both are standard queues (fair queues by MessageGroupId), encrypted, TLS only.
 */
export class DeliveryQueues extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: DeliveryQueuesProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(QUEUES.deadLetterRetentionSeconds),
      removalPolicy,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(QUEUES.deliveryRetentionSeconds),
      visibilityTimeout: Duration.seconds(visibilityTimeoutSeconds(senderTimeoutSeconds(props.webhookTimeoutMs))),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: maxReceiveCount(props.retrySchedule) },
      removalPolicy,
    });
  }
}
