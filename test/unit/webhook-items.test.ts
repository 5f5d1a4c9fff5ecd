// Covers shared/adapters/dynamodb/webhook-items.ts: how a webhook is laid out in DynamoDB to cost one write unit per state change.
import { describe, expect, it } from 'vitest';
import {
  dueKeys,
  fitsInline,
  fromStateItem,
  itemBytes,
  pack,
  stateAttributes,
  unpack,
} from '#shared/adapters/dynamodb/webhook-items.ts';
import type { WebhookState } from '#shared/domain/model.ts';
import { newWebhook } from '#shared/domain/webhooks/new-webhook.ts';

const at = Date.parse('2026-11-27T10:00:00.000Z');
const { payload: _payload, ...fresh } = newWebhook({
  id: '019ac5e0-0000-7000-8000-000000000001',
  organization_id: '019ac5e0-0000-7000-8000-0000000000aa',
  endpoint_id: '019ac5e0-0000-7000-8000-0000000000ee',
  endpoint_url: 'https://receiver.example.com/lago',
  webhook_type: 'invoice.created',
  object_type: 'invoice',
  object_id: 'inv_0001',
  payload: '{}',
  atMs: at,
});
const state = (overrides: Partial<WebhookState> = {}): WebhookState => ({ ...fresh, ...overrides });

const keys = (s: WebhookState) => ({ pk: `EP#${s.endpoint_id}#3`, sk: `W#${s.id}` });
/** The shard the fixtures' items are in; `unsharded`: the endpoint's own partition, where webhooks were stored before shards. */
const shard3 = { endpointId: fresh.endpoint_id, shard: 3 };
const unsharded = { endpointId: fresh.endpoint_id, shard: null };

describe('webhook items', () => {
  it('read back what they store: attempts, errors derived from a status, timers and flags', () => {
    const s = state({
      status: 'retrying',
      attempt_count: 2,
      round_attempts: 2,
      attempts: [
        { number: 1, at_ms: at, http_status: 500, error: 'unexpected http status 500', duration_ms: 31 },
        { number: 2, at_ms: at, http_status: null, error: 'timeout after 10000 ms', duration_ms: 10_000 },
      ],
      error: 'timeout after 10000 ms',
      timer: true,
      test: true,
      version: 3,
    });
    const {
      state: read,
      stateBytes,
      payloadElsewhere,
    } = fromStateItem({ ...keys(s), ...stateAttributes(s, shard3), pl: 'x' });
    expect(read).toEqual(s);
    expect(stateBytes).toBeGreaterThan(0);
    expect(payloadElsewhere).toBe(false);
  });

  it('keep a state item with a realistic 1 KB payload inline within one write unit', () => {
    const fees = Array.from({ length: 11 }, (_, i) => ({
      lago_id: `fee_${i}_${(i * 7919).toString(36)}`,
      amount_cents: 1000 + i * 37,
      item: { code: `seat_${i}`, name: `Seat ${i}` },
    }));
    const payload = JSON.stringify({
      webhook_type: 'invoice.created',
      object_type: 'invoice',
      invoice: { lago_id: 'inv_0001', number: 'ACME-2026-0001', currency: 'EUR', fees },
    });
    expect(Buffer.byteLength(payload)).toBeGreaterThan(1000);
    const bare = { ...keys(state()), ...stateAttributes(state(), shard3) };
    expect(fitsInline(itemBytes(bare), pack(payload))).toBe(true);
  });

  it('compress text only when that saves space, and unpack either form', () => {
    expect(pack('ok')).toBe('ok');
    const json = JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ id: i, status: 'ok' })));
    const packed = pack(json);
    expect(packed).toBeInstanceOf(Uint8Array);
    expect((packed as Uint8Array).length).toBeLessThan(json.length / 2);
    expect(unpack(packed)).toBe(json);
    expect(unpack(undefined)).toBeNull();
  });

  it('enter the due index only while live and waiting on a timer or an unsent message', () => {
    expect(dueKeys(state())).toEqual({});
    expect(dueKeys(state({ status: 'retrying', timer: true })).due_pk).toMatch(/^TIMER#\d$/);
    expect(dueKeys(state({ unqueued: true })).due_pk).toMatch(/^DUE#\d$/);
    expect(dueKeys(state({ status: 'failed', unqueued: true }))).toEqual({});
  });

  it('put only failed webhooks in the failed index, under their organization and shard', () => {
    expect(stateAttributes(state(), shard3).fo).toBeUndefined();
    expect(stateAttributes(state({ status: 'failed' }), shard3).fo).toBe(`${state().organization_id}#3`);
    // A webhook stored before shards keeps the organization alone as its key.
    expect(stateAttributes(state({ status: 'failed' }), unsharded).fo).toBe(state().organization_id);
  });
});
