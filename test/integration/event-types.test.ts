// Covers GET /api/v1/webhook_event_types: Lago's whole catalog with names, descriptions and categories, for organizations only.
import { describe, expect, it } from 'vitest';
import { WEBHOOK_TYPES } from '#shared/domain/catalog/event-types.ts';
import { createOrg, request } from './helpers.ts';

interface EventType {
  key: string;
  name: string;
  description: string;
  category: string;
  deprecated: boolean;
}

describe('GET /api/v1/webhook_event_types', () => {
  it('lists every webhook type once, with a name, a description and the category of its prefix', async () => {
    const org = await createOrg('Catalog');
    const res = await request<{ webhook_event_types: EventType[] }>('GET', '/api/v1/webhook_event_types', {
      token: org.apiKey,
    });
    expect(res.status).toBe(200);
    const types = res.body.webhook_event_types;
    expect(types.map((t) => t.key)).toEqual([...WEBHOOK_TYPES]);
    for (const type of types) {
      expect(type.category).toBe(type.key.split('.')[0]);
      expect(type.name.length).toBeGreaterThan(3);
      expect(type.description).toMatch(/^[A-Z].{10,}\.$/);
      expect(type.deprecated, type.key).toBe(
        ['credit_note.refund_failure', 'event.error', 'invoice.add_on_added'].includes(type.key),
      );
    }
    expect(types.find((t) => t.key === 'invoice.created')).toEqual({
      key: 'invoice.created',
      name: 'Invoice created',
      description: 'An invoice was finalized.',
      category: 'invoice',
      deprecated: false,
    });
  });

  it("refuses a request without a valid API key in Lago's shape", async () => {
    expect(await request('GET', '/api/v1/webhook_event_types')).toMatchObject({
      status: 401,
      body: { status: 401, error: 'Unauthorized' },
    });
    expect(await request('GET', '/api/v1/webhook_event_types', { token: 'not-a-key' })).toMatchObject({
      status: 401,
      body: { status: 401, error: 'Unauthorized' },
    });
  });
});
