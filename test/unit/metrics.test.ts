// Covers shared/metrics.ts: delivery metrics written as CloudWatch Embedded Metric Format documents.
import { describe, expect, it } from 'vitest';
import { emfMetrics, METRICS_NAMESPACE } from '#shared/metrics.ts';

describe('emfMetrics', () => {
  it('writes one EMF document per metric, in the LagoWebhooks namespace', () => {
    const lines: string[] = [];
    const before = Date.now();
    emfMetrics((line) => lines.push(line)).record('DeliveriesSucceeded', 3);
    const after = Date.now();

    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    const doc = JSON.parse(lines[0]!) as { _aws: { Timestamp: number; CloudWatchMetrics: unknown[] } } & Record<string, unknown>;
    expect(METRICS_NAMESPACE).toBe('LagoWebhooks');
    expect(doc._aws.CloudWatchMetrics).toEqual([{ Namespace: 'LagoWebhooks', Dimensions: [[]], Metrics: [{ Name: 'DeliveriesSucceeded', Unit: 'Count' }] }]);
    expect(doc._aws.Timestamp).toBeGreaterThanOrEqual(before);
    expect(doc._aws.Timestamp).toBeLessThanOrEqual(after);
    expect(doc.DeliveriesSucceeded).toBe(3);
  });

  it('carries the unit it is given', () => {
    const lines: string[] = [];
    emfMetrics((line) => lines.push(line)).record('EndpointResponseTime', 123.5, 'Milliseconds');
    const doc = JSON.parse(lines[0]!) as { _aws: { CloudWatchMetrics: { Metrics: unknown[] }[] }; EndpointResponseTime: number };
    expect(doc._aws.CloudWatchMetrics[0]!.Metrics).toEqual([{ Name: 'EndpointResponseTime', Unit: 'Milliseconds' }]);
    expect(doc.EndpointResponseTime).toBe(123.5);
  });

  it('references only metric values that are present as numbers (what CloudWatch requires)', () => {
    const lines: string[] = [];
    const metrics = emfMetrics((line) => lines.push(line));
    for (const name of ['WebhooksPublished', 'DeliveryAttemptsFailed', 'WebhooksExhausted'] as const) metrics.record(name, 1);
    for (const line of lines) {
      const doc = JSON.parse(line) as { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } } & Record<string, unknown>;
      for (const directive of doc._aws.CloudWatchMetrics) {
        for (const dimensionSet of directive.Dimensions) for (const key of dimensionSet) expect(typeof doc[key]).toBe('string');
        for (const metric of directive.Metrics) expect(typeof doc[metric.Name]).toBe('number');
      }
    }
    expect(lines).toHaveLength(3);
  });
});
