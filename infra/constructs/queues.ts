import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  DEAD_LETTER_RETENTION_SECONDS,
  DELIVERY_RETENTION_SECONDS,
  POISON_RECEIVE_COUNT,
  visibilityTimeoutSeconds,
  type Lane,
  type LaneTimeouts,
} from '#shared/domain/delivery/policy.ts';

export interface DeliveryQueuesProps {
  /** The attempt timeout and the fast-lane budget: they set each lane's sender timeout, and so its visibility timeout. Required. */
  readonly timeouts: LaneTimeouts;
  /** What happens to the queues (and the messages in them) when they leave the stack. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The two delivery lanes and their shared dead-letter queue, configured from shared/domain/delivery/policy.ts
 * like the local ones. Standard queues (fair queues by MessageGroupId), encrypted, TLS only. The
 * redrive policy only catches poison messages: exhausted webhooks are sent to the dead-letter queue
 * by the sender.
 */
export class DeliveryQueues extends Construct {
  readonly lanes: Record<Lane, sqs.Queue>;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: DeliveryQueuesProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(DEAD_LETTER_RETENTION_SECONDS),
      removalPolicy,
    });
    const lane = (id: string, name: Lane) =>
      new sqs.Queue(this, id, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.seconds(DELIVERY_RETENTION_SECONDS),
        visibilityTimeout: Duration.seconds(visibilityTimeoutSeconds(name, props.timeouts)),
        deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: POISON_RECEIVE_COUNT },
        removalPolicy,
      });
    this.lanes = { fast: lane('Queue', 'fast'), slow: lane('SlowQueue', 'slow') };
  }

  /** The fast lane: where publishes, retries and redrives start. */
  get queue(): sqs.Queue {
    return this.lanes.fast;
  }
}
