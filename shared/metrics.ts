/**
 * Delivery metrics as CloudWatch Embedded Metric Format lines: CloudWatch turns the function's
 * log lines into metrics, with no API call on the hot path.
 */

export const METRICS_NAMESPACE = 'LagoWebhooks';

export type MetricName = 'WebhooksPublished' | 'DeliveriesSucceeded' | 'DeliveryAttemptsFailed' | 'WebhooksExhausted' | 'EndpointResponseTime' | 'PoisonMessages' | 'SlowLaneHandoffs';

export interface Metrics {
  record(name: MetricName, value: number, unit?: 'Count' | 'Milliseconds'): void;
}

export function emfMetrics(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Metrics {
  return {
    record(name, value, unit = 'Count') {
      write(
        JSON.stringify({
          _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [[]], Metrics: [{ Name: name, Unit: unit }] }] },
          [name]: value,
        }),
      );
    },
  };
}

export const noMetrics: Metrics = { record() {} };
