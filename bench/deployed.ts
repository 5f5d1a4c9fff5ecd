/**
 * What the cost model reads from the stack itself: the resources billed by the month (from the
 * synthesized template, so the floor follows the stack) and the size of the EMF documents the
 * functions write (Powertools' Metrics, as on Lambda).
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { WebhookStack } from '#infra/stack.ts';
import { emfMetrics, powertoolsMetrics, type MetricName } from '#shared/runtime/metrics.ts';
import type { DeployedCounts } from './pricing.ts';

/** Every EMF metric the functions may write (the compiler checks the list is whole). */
const EMF_METRICS: Record<MetricName, true> = {
  WebhooksPublished: true,
  DeliveriesSucceeded: true,
  DeliveryAttemptsFailed: true,
  WebhooksExhausted: true,
  PoisonMessages: true,
  SlowLaneHandoffs: true,
  EndpointResponseTime: true,
  RateLimitedByMaxRps: true,
};

/** Counts the default stack's resources billed by the month; synthesized without building its bundles. */
export function deployedCounts(): DeployedCounts {
  const stack = new WebhookStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'LagoWebhooks');
  const template = Template.fromStack(stack);
  const count = (type: string) => Object.keys(template.findResources(type)).length;
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as {
    Properties: { Metrics?: { MetricStat?: unknown }[] };
  }[];
  const filters = Object.values(template.findResources('AWS::Logs::MetricFilter')) as {
    Properties: { MetricTransformations: { MetricNamespace: string; MetricName: string }[] };
  }[];
  const filterMetrics = new Set(
    filters.flatMap((f) => f.Properties.MetricTransformations.map((m) => `${m.MetricNamespace}/${m.MetricName}`)),
  );
  return {
    kmsKeys: count('AWS::KMS::Key'),
    secrets: count('Custom::WebhookSigningKey'),
    alarmMetrics: alarms.reduce(
      (sum, alarm) => sum + (alarm.Properties.Metrics?.filter((m) => m.MetricStat).length ?? 1),
      0,
    ),
    dashboards: count('AWS::CloudWatch::Dashboard'),
    customMetrics: Object.keys(EMF_METRICS).length + filterMetrics.size,
  };
}

/** The bytes of the EMF document an invocation writes with these metrics (captured from Powertools' output). */
export function emfDocumentBytes(
  records: readonly (readonly [MetricName, number, ('Count' | 'Milliseconds')?])[],
): number {
  const powertools = powertoolsMetrics('LagoWebhooks');
  const metrics = emfMetrics(powertools);
  for (const [name, value, unit] of records) metrics.record(name, value, unit);
  let bytes = 0;
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    return true;
  }) as typeof process.stdout.write;
  try {
    powertools.publishStoredMetrics();
  } finally {
    process.stdout.write = write;
  }
  return bytes;
}
