// Covers shared/runtime/metrics.ts: delivery metrics written by Powertools as CloudWatch Embedded Metric Format documents, with the stack's name as their only dimension (Stack).
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  emfMetrics,
  METRICS_NAMESPACE,
  powertoolsMetrics,
  STACK_DIMENSION,
  type MetricName,
} from '#shared/runtime/metrics.ts';

type Doc = {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
  };
} & Record<string, unknown>;

afterEach(() => vi.restoreAllMocks());

/** Records the calls, then flushes as the Lambda middleware does at the end of an invocation, and returns what was written. */
function record(stack: string, ...calls: [MetricName, number, ('Count' | 'Milliseconds')?][]): Doc[] {
  const lines: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  const powertools = powertoolsMetrics(stack);
  const metrics = emfMetrics(powertools);
  for (const [name, value, unit] of calls) metrics.record(name, value, unit);
  powertools.publishStoredMetrics();
  vi.restoreAllMocks();
  return lines.map((line) => JSON.parse(line) as Doc);
}

describe('emfMetrics', () => {
  it('writes an EMF document in the LagoWebhooks namespace, with the Stack dimension alone', () => {
    const before = Date.now();
    const docs = record('AcmeWebhooks', ['DeliveriesSucceeded', 3]);
    const after = Date.now();

    expect(docs).toHaveLength(1);
    const [doc] = docs;
    expect(METRICS_NAMESPACE).toBe('LagoWebhooks');
    expect(STACK_DIMENSION).toBe('Stack');
    expect(doc!._aws.CloudWatchMetrics).toEqual([
      { Namespace: 'LagoWebhooks', Dimensions: [['Stack']], Metrics: [{ Name: 'DeliveriesSucceeded', Unit: 'Count' }] },
    ]);
    expect(doc!.Stack).toBe('AcmeWebhooks');
    expect(doc).not.toHaveProperty('service');
    expect(doc!._aws.Timestamp).toBeGreaterThanOrEqual(before);
    expect(doc!._aws.Timestamp).toBeLessThanOrEqual(after);
    expect(doc!.DeliveriesSucceeded).toBe(3);
  });

  it('carries the unit it is given', () => {
    const [doc] = record('LagoWebhooks', ['EndpointResponseTime', 123.5, 'Milliseconds']);
    expect(doc!._aws.CloudWatchMetrics[0]!.Metrics).toEqual([{ Name: 'EndpointResponseTime', Unit: 'Milliseconds' }]);
    expect(doc!.EndpointResponseTime).toBe(123.5);
  });

  it('references only dimensions present as strings and metric values present as numbers (what CloudWatch requires), for every metric the runtime writes', () => {
    const names: MetricName[] = [
      'WebhooksPublished',
      'DeliveriesSucceeded',
      'DeliveryAttemptsFailed',
      'WebhooksExhausted',
      'PoisonMessages',
      'SlowLaneHandoffs',
      'EndpointResponseTime',
      'RateLimitedByMaxRps',
    ];
    const docs = record('LagoWebhooks', ...names.map((name): [MetricName, number] => [name, 1]));
    expect(docs.length).toBeGreaterThan(0);
    const written = new Set<string>();
    for (const doc of docs) {
      for (const directive of doc._aws.CloudWatchMetrics) {
        expect(directive.Dimensions).toEqual([['Stack']]);
        for (const dimensionSet of directive.Dimensions)
          for (const key of dimensionSet) expect(typeof doc[key]).toBe('string');
        for (const metric of directive.Metrics) {
          expect(typeof doc[metric.Name]).toBe('number');
          written.add(metric.Name);
        }
      }
    }
    expect([...written].sort()).toEqual([...names].sort());
  });

  it('refuses an empty stack name, which would write metrics no alarm or dashboard reads', () => {
    expect(() => powertoolsMetrics('')).toThrow(/stack name/);
  });
});
