// Covers shared/domain/delivery/retry-schedule.ts: backoff with jitter, the end of the schedule, the slow-down floor, Retry-After (in place of the step, capped) and its parsing.
import { describe, expect, it } from 'vitest';
import {
  MAX_DELAY_SECONDS,
  nextDelaySeconds,
  parseRetryAfter,
  type FailureHint,
} from '#shared/domain/delivery/retry-schedule.ts';

const SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];
const POLICY = { schedule: SCHEDULE, retryAfterMaxSeconds: 3600 };
const SERVER_ERROR: FailureHint = { httpStatus: 500, timedOut: false, retryAfterSeconds: null };
const LOW = () => 0;
const MID = () => 0.5;
const HIGH = () => 1;

describe('nextDelaySeconds', () => {
  it('follows the schedule, attempt by attempt, without jitter at the midpoint', () => {
    expect(SCHEDULE.map((_, i) => nextDelaySeconds(POLICY, i + 1, SERVER_ERROR, MID))).toEqual(SCHEDULE);
  });

  it('jitters by at most ±20%', () => {
    expect(nextDelaySeconds(POLICY, 2, SERVER_ERROR, LOW)).toBe(240);
    expect(nextDelaySeconds(POLICY, 2, SERVER_ERROR, HIGH)).toBe(360);
    expect(nextDelaySeconds(POLICY, 4, SERVER_ERROR, LOW)).toBe(5760);
    expect(nextDelaySeconds(POLICY, 4, SERVER_ERROR, HIGH)).toBe(8640);
    for (let i = 0; i < 200; i++) {
      const delay = nextDelaySeconds(POLICY, 3, SERVER_ERROR)!;
      expect(delay).toBeGreaterThanOrEqual(1440);
      expect(delay).toBeLessThanOrEqual(2160);
    }
  });

  it('is undefined once the schedule is over', () => {
    expect(nextDelaySeconds(POLICY, SCHEDULE.length, SERVER_ERROR, MID)).toBe(36000);
    expect(nextDelaySeconds(POLICY, SCHEDULE.length + 1, SERVER_ERROR, MID)).toBeUndefined();
    expect(nextDelaySeconds({ ...POLICY, schedule: [] }, 1, SERVER_ERROR, MID)).toBeUndefined();
  });

  it('waits at least 60 s after a 429 or a timeout', () => {
    expect(nextDelaySeconds(POLICY, 1, { httpStatus: 429, timedOut: false, retryAfterSeconds: null }, LOW)).toBe(60);
    expect(nextDelaySeconds(POLICY, 1, { httpStatus: null, timedOut: true, retryAfterSeconds: null }, HIGH)).toBe(60);
    expect(nextDelaySeconds(POLICY, 1, SERVER_ERROR, HIGH)).toBe(6);
    expect(nextDelaySeconds(POLICY, 2, { httpStatus: 429, timedOut: false, retryAfterSeconds: null }, MID)).toBe(300);
  });

  it("waits a 429's or 503's Retry-After instead of the schedule's step, shorter or longer, with no jitter or floor", () => {
    const asked = (httpStatus: number, retryAfterSeconds: number) => ({
      httpStatus,
      timedOut: false,
      retryAfterSeconds,
    });
    expect(nextDelaySeconds(POLICY, 1, asked(503, 900), MID)).toBe(900);
    expect(nextDelaySeconds(POLICY, 1, asked(429, 900), HIGH)).toBe(900);
    // Before: the schedule's 300 s (jittered) when Retry-After asked for less; the 60 s floor of a 429.
    expect(nextDelaySeconds(POLICY, 2, asked(503, 10), HIGH)).toBe(10);
    expect(nextDelaySeconds(POLICY, 2, asked(429, 5), LOW)).toBe(5);
    // Retry-After: 0 still hides the message for a second.
    expect(nextDelaySeconds(POLICY, 1, asked(429, 0), MID)).toBe(1);
  });

  it("caps Retry-After at the policy's maximum", () => {
    const asked = { httpStatus: 429, timedOut: false, retryAfterSeconds: 7200 };
    expect(nextDelaySeconds(POLICY, 1, asked, MID)).toBe(3600);
    expect(nextDelaySeconds({ ...POLICY, retryAfterMaxSeconds: 30 }, 1, asked, MID)).toBe(30);
  });

  it('ends the round at the end of the schedule, Retry-After or not', () => {
    const asked = { httpStatus: 503, timedOut: false, retryAfterSeconds: 5 };
    expect(nextDelaySeconds(POLICY, SCHEDULE.length + 1, asked, MID)).toBeUndefined();
  });

  it('ignores Retry-After on other statuses', () => {
    expect(nextDelaySeconds(POLICY, 1, { httpStatus: 500, timedOut: false, retryAfterSeconds: 900 }, MID)).toBe(5);
    expect(nextDelaySeconds(POLICY, 1, { httpStatus: 302, timedOut: false, retryAfterSeconds: 900 }, MID)).toBe(5);
  });

  it('caps every delay at the longest time SQS can hide a message', () => {
    expect(MAX_DELAY_SECONDS).toBe(43_080);
    const asked = { httpStatus: 429, timedOut: false, retryAfterSeconds: 10 * 24 * 3600 };
    expect(nextDelaySeconds({ ...POLICY, retryAfterMaxSeconds: 10 * 24 * 3600 }, 1, asked, MID)).toBe(
      MAX_DELAY_SECONDS,
    );
    expect(nextDelaySeconds({ ...POLICY, schedule: [MAX_DELAY_SECONDS] }, 1, SERVER_ERROR, HIGH)).toBe(
      MAX_DELAY_SECONDS,
    );
  });
});

describe('parseRetryAfter', () => {
  const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
  });

  it('reads an HTTP-date as seconds from now, never negative', () => {
    expect(parseRetryAfter('Wed, 01 Jan 2025 12:02:00 GMT', NOW)).toBe(120);
    expect(parseRetryAfter('Wed, 01 Jan 2025 11:00:00 GMT', NOW)).toBe(0);
  });

  it('returns null when absent or unreadable', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeNull();
    expect(parseRetryAfter('', NOW)).toBeNull();
    expect(parseRetryAfter('soon', NOW)).toBeNull();
  });
});
