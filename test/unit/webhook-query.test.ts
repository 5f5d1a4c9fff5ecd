// Covers parseWebhookQuery in shared/domain/webhooks/search.ts: dates must be whole ISO 8601 values (no trailing garbage such as NUL).
import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/domain/errors.ts';
import { parseWebhookQuery } from '#shared/domain/webhooks/search.ts';

const ORG = '0196d7a2-0000-7000-8000-00000000000a';

function details(query: string) {
  try {
    parseWebhookQuery(ORG, new URLSearchParams(query));
    return undefined;
  } catch (error) {
    return (error as ApiError).details;
  }
}

describe('parseWebhookQuery dates', () => {
  it('accepts ISO 8601 dates and times', () => {
    for (const value of [
      '2026-11-01',
      '2026-11-01T10:00',
      '2026-11-01T10:00:00',
      '2026-11-01T10:00:00Z',
      '2026-11-01T10:00:00.123Z',
      '2026-11-01T10:00:00+01:00',
      '2026-11-01 10:00:00',
    ]) {
      expect(details(`from_date=${encodeURIComponent(value)}`), value).toBeUndefined();
    }
    expect(parseWebhookQuery(ORG, new URLSearchParams('from_date=2026-11-01T10:00:00%2B01:00')).fromMs).toBe(
      Date.UTC(2026, 10, 1, 9),
    );
  });

  it('refuses anything after the date, NUL included (invalid_date)', () => {
    for (const value of [
      '2026-11-01%00',
      '2026-11-01T10:00:00Z%00',
      '2026-11-01garbage',
      '2026-11-01T10:00:00Z ',
      '2026-11-01T10:00:00ZZ',
      '2026-11-01T10',
      '+002026-11-01',
      '2026-11-01T10:00:00 GMT',
    ]) {
      expect(details(`from_date=${value}`), value).toEqual({ from_date: ['invalid_date'] });
      expect(details(`to_date=${value}`), value).toEqual({ to_date: ['invalid_date'] });
    }
  });
});
