// Covers shared/domain/organizations/rate-limits.ts and its 429: which counters a request counts against, the fixed
// windows and their Retry-After, the limit reported when one is reached, and the headers Lago's clients read.
import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/domain/errors.ts';
import { RateLimits, type RateLimitPolicy } from '#shared/domain/organizations/rate-limits.ts';
import type { CounterWindow, RateCounters, WindowCounter } from '#shared/domain/ports.ts';
import { toLagoError } from '#shared/runtime/http.ts';

/** Counters in memory, counted as the table counts them: all or nothing. */
class MemoryCounters implements RateCounters {
  readonly calls: { window: CounterWindow; counters: readonly WindowCounter[] }[] = [];
  private readonly counts = new Map<string, number>();

  async take(window: CounterWindow, counters: readonly WindowCounter[]): Promise<string[]> {
    this.calls.push({ window, counters });
    const at = (c: WindowCounter) => `${window.organizationId}|${window.action}|${window.startMs}|${c.name}`;
    const full = counters.filter((c) => (this.counts.get(at(c)) ?? 0) >= c.limit).map((c) => c.name);
    if (full.length === 0) for (const c of counters) this.counts.set(at(c), (this.counts.get(at(c)) ?? 0) + 1);
    return full;
  }
}

const POLICY: RateLimitPolicy = {
  test_event: { windowMs: 60_000, organization: 3, endpoint: 2 },
  redelivery: { windowMs: 60_000, organization: 2 },
  recovery: { windowMs: 3_600_000, organization: 1 },
  rotation: { windowMs: 3_600_000, organization: 0 },
};

/** 12:00:45.500 on some day: 14.5 s left in the minute, 59 min 14.5 s in the hour. */
const NOW = Date.UTC(2026, 0, 1, 12, 0, 45, 500);

async function refusal(promise: Promise<void>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe('RateLimits', () => {
  it('counts each action in its own fixed window, once per request, with one call', async () => {
    const counters = new MemoryCounters();
    const limits = new RateLimits(counters, POLICY, () => NOW);
    await limits.take('test_event', 'org-1', 'ep-1');
    await limits.take('recovery', 'org-1');
    expect(counters.calls).toEqual([
      {
        window: { organizationId: 'org-1', action: 'test_event', startMs: NOW - 45_500, endMs: NOW + 14_500 },
        counters: [
          { name: 'organization', limit: 3 },
          { name: 'endpoint#ep-1', limit: 2 },
        ],
      },
      {
        window: {
          organizationId: 'org-1',
          action: 'recovery',
          startMs: Date.UTC(2026, 0, 1, 12),
          endMs: Date.UTC(2026, 0, 1, 13),
        },
        counters: [{ name: 'organization', limit: 1 }],
      },
    ]);
  });

  it("refuses past an endpoint's limit with a 429 naming it, the whole seconds left in the window, and Lago's headers", async () => {
    const limits = new RateLimits(new MemoryCounters(), POLICY, () => NOW);
    await limits.take('test_event', 'org-1', 'ep-1');
    await limits.take('test_event', 'org-1', 'ep-1');
    const error = await refusal(limits.take('test_event', 'org-1', 'ep-1'));
    expect(error.rateLimited).toEqual({ limit: 2, retryAfterSeconds: 15 });
    const result = toLagoError(error);
    expect(result.statusCode).toBe(429);
    expect(JSON.parse(result.body!)).toEqual({
      status: 429,
      error: 'Too Many Requests',
      code: 'rate_limited',
      message: 'at most 2 test events a minute to one endpoint; retry in 15 s',
    });
    expect(result.headers).toEqual({
      'content-type': 'application/json; charset=utf-8',
      'retry-after': '15',
      'x-ratelimit-limit': '2',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': '15',
    });
  });

  it("refuses past the organization's limit whatever the endpoint, and counts nothing refused", async () => {
    const counters = new MemoryCounters();
    const limits = new RateLimits(counters, POLICY, () => NOW);
    await limits.take('test_event', 'org-1', 'ep-1');
    await limits.take('test_event', 'org-1', 'ep-2');
    await limits.take('test_event', 'org-1', 'ep-3');
    const error = await refusal(limits.take('test_event', 'org-1', 'ep-4'));
    expect(error.message).toBe('at most 3 test events a minute for an organization; retry in 15 s');
    // Another organization, and the next window, start afresh.
    await limits.take('test_event', 'org-2', 'ep-1');
    await new RateLimits(counters, POLICY, () => NOW + 15_000).take('test_event', 'org-1', 'ep-4');
  });

  it('names the action and the window of each limit, and an hour window waits until its end', async () => {
    const limits = new RateLimits(new MemoryCounters(), POLICY, () => NOW);
    await limits.take('redelivery', 'org-1');
    await limits.take('redelivery', 'org-1');
    expect((await refusal(limits.take('redelivery', 'org-1'))).message).toBe(
      'at most 2 retries and resends a minute for an organization; retry in 15 s',
    );
    await limits.take('recovery', 'org-1');
    const recovery = await refusal(limits.take('recovery', 'org-1'));
    expect(recovery.message).toBe('at most 1 recover calls an hour for an organization; retry in 3555 s');
    expect(recovery.rateLimited).toEqual({ limit: 1, retryAfterSeconds: 3555 });
  });

  it('counts nothing for a limit of 0', async () => {
    const counters = new MemoryCounters();
    const limits = new RateLimits(counters, POLICY, () => NOW);
    for (let i = 0; i < 5; i++) await limits.take('rotation', 'org-1');
    expect(counters.calls).toEqual([]);
  });

  it('waits at least one second, even in the last milliseconds of a window', async () => {
    const limits = new RateLimits(new MemoryCounters(), POLICY, () => Date.UTC(2026, 0, 1, 12, 0, 59, 999));
    await limits.take('redelivery', 'org-1');
    await limits.take('redelivery', 'org-1');
    expect((await refusal(limits.take('redelivery', 'org-1'))).rateLimited?.retryAfterSeconds).toBe(1);
  });
});
