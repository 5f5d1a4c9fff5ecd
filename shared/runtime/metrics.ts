import { MetricUnit, Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import type { Metrics } from '../domain/ports.ts';

/**
 * Delivery metrics as CloudWatch Embedded Metric Format, written by Powertools' Metrics:
 * CloudWatch turns the function's log lines into metrics, with no API call on the hot path. The
 * Lambda middleware (`logMetrics`) flushes them at the end of each invocation.
 */

export type { MetricName, Metrics } from '../domain/ports.ts';

export const METRICS_NAMESPACE = 'LagoWebhooks';

/** Every metric carries the stack's name in this dimension, so two stacks in one account and region never mix their figures. */
export const STACK_DIMENSION = 'Stack';

/** Where Powertools writes its own notices (warnings such as an invocation that recorded no metric). */
type PowertoolsNotices = NonNullable<ConstructorParameters<typeof PowertoolsMetrics>[0]>['logger'];

/**
 * Powertools' Metrics for the stack `stack` (on Lambda, the STACK_NAME the CDK sets on every
 * function). Its `Stack` dimension is the only one: Powertools adds a `service` dimension by
 * default, which would make metrics the alarms and the dashboard (which read `Stack` alone) never see.
 */
export function powertoolsMetrics(stack: string, logger?: PowertoolsNotices): PowertoolsMetrics {
  if (stack === '') throw new Error('powertoolsMetrics: the stack name is empty');
  const metrics = new PowertoolsMetrics({ namespace: METRICS_NAMESPACE, logger });
  metrics.clearDefaultDimensions();
  metrics.setDefaultDimensions({ [STACK_DIMENSION]: stack });
  return metrics;
}

const UNITS = { Count: MetricUnit.Count, Milliseconds: MetricUnit.Milliseconds } as const;

/** The domain's Metrics port over Powertools: recorded now, written when the invocation ends. */
export function emfMetrics(metrics: PowertoolsMetrics): Metrics {
  return {
    record(name, value, unit = 'Count') {
      metrics.addMetric(name, UNITS[unit], value);
    },
  };
}

export const noMetrics: Metrics = { record() {} };
