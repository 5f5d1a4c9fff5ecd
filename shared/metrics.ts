/**
 * Delivery metrics as CloudWatch Embedded Metric Format lines: CloudWatch turns the function's
 * log lines into metrics, with no API call on the hot path.
 */

export const METRICS_NAMESPACE = 'LagoWebhooks';

/** Every metric carries the stack's name in this dimension, so two stacks in one account and region never mix their figures. */
export const STACK_DIMENSION = 'Stack';

export type MetricName =
  | 'WebhooksPublished'
  | 'DeliveriesSucceeded'
  | 'DeliveryAttemptsFailed'
  | 'WebhooksExhausted'
  | 'PoisonMessages'
  | 'SlowLaneHandoffs'
  | 'EndpointResponseTime';

export interface Metrics {
  record(name: MetricName, value: number, unit?: 'Count' | 'Milliseconds'): void;
}

/** EMF metrics of the stack `stack` (on Lambda, the STACK_NAME the CDK sets on every function). */
export function emfMetrics(stack: string, write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Metrics {
  if (stack === '') throw new Error('emfMetrics: the stack name is empty');
  return {
    record(name, value, unit = 'Count') {
      write(
        JSON.stringify({
          _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [[STACK_DIMENSION]], Metrics: [{ Name: name, Unit: unit }] }] },
          [STACK_DIMENSION]: stack,
          [name]: value,
        }),
      );
    },
  };
}

export const noMetrics: Metrics = { record() {} };
