// The billing run (bench/billing.ts, issue 19), small: one organization publishes by batch, as fast as the API takes
// them, to a healthy, a slow (2 s) and a failing (500) endpoint, on the scale model of AWS's limits at a factor so low
// that its hot keys throttle (5 write units a second per key): every webhook is delivered or fails as its receiver
// answers, none is lost, and no receiver gets a POST beyond the attempts recorded.
import { expect, it } from 'vitest';
import { billingRun } from '../../bench/billing.ts';
import { stack } from './helpers.ts';

it('delivers every webhook of a billing run once, under throttling, and loses none', { timeout: 300_000 }, async () => {
  const result = await billingRun({
    events: 60,
    scale: 0.005,
    shards: 8,
    others: true,
    dynamoDbEndpoint: stack().dynamoDbEndpoint,
    timeoutMs: 240_000,
  });
  expect(result.accepted).toEqual({ healthy: 60, slow: 60, failing: 60 });
  expect(result.lost).toBe(0);
  expect(result.duplicates).toBe(0);
  // The run was throttled (requests refused, or batch items handed back): retried, none made a second POST.
  const { throttledRequests, unprocessed } = result.limits.dynamoDb;
  expect(throttledRequests + unprocessed).toBeGreaterThan(0);
  expect(Number.isFinite(result.healthyMs)).toBe(true);
});
