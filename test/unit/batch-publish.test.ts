// Covers the pure parts of batch publish: reading `{"events":[...]}` (shared/domain/webhooks/publish.ts) and packing events' webhooks into DynamoDB transactions (shared/adapters/dynamodb-store.ts).
import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/domain/errors.ts';
import { lagoError } from '#shared/runtime/http.ts';
import { parseBatch } from '#shared/domain/webhooks/publish.ts';
import { MAX_BATCH_EVENTS } from '#shared/domain/webhooks/schemas.ts';

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
    for (const body of [
      {},
      [],
      null,
      'events',
      { events: {} },
      { events: [] },
      { events: Array.from({ length: 101 }, () => ({})) },
    ]) {
      expect(refusal(body)).toEqual({
        status: 400,
        body: { status: 400, error: 'BadRequest: the body must be {"events":[...]} with 1 to 100 events' },
      });
    }
  });
});

describe('lagoError', () => {
  it('is the body toLagoError sends, with its status', () => {
    expect(lagoError(new ApiError('not_found', { code: 'organization_not_found' }))).toEqual({
      status: 404,
      body: { status: 404, error: 'Not Found', code: 'organization_not_found' },
    });
  });
});
