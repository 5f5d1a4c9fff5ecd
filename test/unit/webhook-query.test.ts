// Covers parseWebhookQuery in shared/domain/webhooks/search.ts and the list's query schema: dates must be whole ISO 8601 values (no trailing garbage such as NUL), lists and single parameters.
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

describe('parseWebhookQuery lists and parameters', () => {
  const query = (raw: string) => parseWebhookQuery(ORG, new URLSearchParams(raw));

  it('reads a list repeated or comma-separated, trimmed and de-duplicated; none is no filter', () => {
    expect(query('statuses[]=failed&statuses[]=pending&statuses=failed, retrying').statuses).toEqual([
      'failed',
      'pending',
      'retrying',
    ]);
    expect(query('statuses=&statuses[]=,').statuses).toBeUndefined();
    expect(query('http_statuses=404,5xx,timeout').httpStatuses).toEqual(['404', '5xx', 'timeout']);
  });

  it('refuses more than 20 values (too_many_values) before looking at them, and any unknown value', () => {
    const many = Array.from({ length: 21 }, (_, i) => `s${i}`).join(',');
    expect(details(`statuses=${many}`)).toEqual({ statuses: ['too_many_values'] });
    expect(details('statuses[]=failed&statuses[]=done')).toEqual({ statuses: ['value_is_invalid'] });
    expect(details('webhook_types=invoice.created,invoice.exploded')).toEqual({ webhook_types: ['value_is_invalid'] });
    expect(details('http_statuses[]=600')).toEqual({ http_statuses: ['value_is_invalid'] });
  });

  it('takes the first value of a single parameter; an empty one is absent', () => {
    expect(query('per_page=5&per_page=7').limit).toBe(5);
    expect(query('per_page=&search_term=&cursor=&webhook_endpoint_id=')).toEqual({ organizationId: ORG, limit: 20 });
    expect(query('search_term=%20%20inv_1%20').searchTerm).toBe('inv_1');
    expect(details(`search_term=${'s'.repeat(256)}`)).toEqual({ search_term: ['value_is_invalid'] });
    expect(details('cursor=garbage&webhook_endpoint_id=x')).toEqual({
      cursor: ['value_is_invalid'],
      webhook_endpoint_id: ['value_is_invalid'],
    });
  });
});
