// Covers the pure parts of batch publish: reading `{"events":[...]}` (shared/webhooks.ts) and packing events' webhooks into DynamoDB transactions (shared/adapters/dynamodb-store.ts).
import { describe, expect, it } from 'vitest';
import { packTransactions } from '#shared/adapters/dynamodb-store.ts';
import { ApiError } from '#shared/errors.ts';
import { lagoError } from '#shared/http.ts';
import { MAX_BATCH_EVENTS, parseBatch } from '#shared/webhooks.ts';

function refusal(body: unknown) {
  try {
    parseBatch(body);
  } catch (error) {
    return lagoError(error as ApiError);
  }
  throw new Error('parseBatch accepted the body');
}

describe('parseBatch', () => {
  it('returns the events as given, in order, leaving each to be checked on its own', () => {
    const events = [{ organization_id: 'x' }, 'not even an object', null];
    expect(parseBatch({ events })).toEqual(events);
    expect(parseBatch({ events: Array.from({ length: MAX_BATCH_EVENTS }, () => ({})) })).toHaveLength(100);
  });

  it('refuses anything but {"events":[...]} with 1 to 100 items, with a Lago 400', () => {
    for (const body of [{}, [], null, 'events', { events: {} }, { events: [] }, { events: Array.from({ length: 101 }, () => ({})) }]) {
      expect(refusal(body)).toEqual({ status: 400, body: { status: 400, error: 'BadRequest: the body must be {"events":[...]} with 1 to 100 events' } });
    }
  });
});

describe('packTransactions', () => {
  it('fills transactions up to 100 items without splitting an event', () => {
    // 7 items: three webhooks (state + payload each) and an idempotency record.
    const sets = Array.from({ length: 30 }, () => ({ items: 7, bytes: 1000 }));
    const chunks = packTransactions(sets);
    expect(chunks.map((c) => c.length)).toEqual([14, 14, 2]);
    expect(chunks.flat()).toEqual(sets.map((_, i) => i));
  });

  it('puts a later small event into an earlier transaction with room, and skips events with nothing to write', () => {
    expect(packTransactions([{ items: 60, bytes: 1 }, { items: 60, bytes: 1 }, { items: 0, bytes: 0 }, { items: 40, bytes: 1 }])).toEqual([[0, 3], [1]]);
  });

  it('keeps each transaction under the byte limit: large payloads sent to many endpoints go alone', () => {
    const big = { items: 21, bytes: 2_600_000 };
    expect(packTransactions([big, big, { items: 3, bytes: 5000 }])).toEqual([[0, 2], [1]]);
  });
});

describe('lagoError', () => {
  it('is the body toLagoError sends, with its status', () => {
    expect(lagoError(new ApiError('not_found', { code: 'organization_not_found' }))).toEqual({ status: 404, body: { status: 404, error: 'Not Found', code: 'organization_not_found' } });
  });
});
