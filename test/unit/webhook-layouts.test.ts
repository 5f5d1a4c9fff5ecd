// Covers shared/adapters/dynamodb/webhook-layouts.ts and keys.ts's shardOf: where an endpoint's layout puts each of its webhooks (an endpoint without one, a new one, one from before shards with the id its shards begin at), which partitions a listing reads, and how evenly ids spread over shards.
import { describe, expect, it } from 'vitest';
import { shardOf, webhookPartition } from '#shared/adapters/dynamodb/keys.ts';
import { holdsUnsharded, partitionsOf, placeOf } from '#shared/adapters/dynamodb/webhook-layouts.ts';
import { lowestIdAt, uuidv7 } from '#shared/domain/ids.ts';

const EP = '0196d7a2-0000-7000-8000-0000000000e1';
const T0 = Date.UTC(2026, 10, 1);

describe('an endpoint layout', () => {
  it("puts every webhook of an endpoint without one in the endpoint's own partition, as earlier releases did", () => {
    const layout = { endpointId: EP, shards: 0 };
    expect(placeOf(layout, uuidv7(T0))).toEqual({ endpointId: EP, shard: null });
    expect(webhookPartition.key(placeOf(layout, uuidv7(T0)))).toBe(`EP#${EP}`);
    expect(partitionsOf(layout)).toEqual([{ endpointId: EP, shard: null }]);
    expect(holdsUnsharded(layout)).toBe(true);
  });

  it("puts a new endpoint's webhooks in the shard their id hashes to, and lists its shards alone", () => {
    const layout = { endpointId: EP, shards: 4 };
    const id = uuidv7(T0);
    expect(placeOf(layout, id)).toEqual({ endpointId: EP, shard: shardOf(id, 4) });
    expect(webhookPartition.key(placeOf(layout, id))).toBe(`EP#${EP}#${shardOf(id, 4)}`);
    expect(partitionsOf(layout).map((p) => p.shard)).toEqual([0, 1, 2, 3]);
    expect(holdsUnsharded(layout)).toBe(false);
  });

  it('keeps the webhooks of an endpoint from before shards where they were below the id its shards begin at, and lists both', () => {
    const layout = { endpointId: EP, shards: 8, shardedFrom: lowestIdAt(T0) };
    expect(placeOf(layout, uuidv7(T0 - 1)).shard).toBeNull();
    const at = uuidv7(T0);
    expect(placeOf(layout, at).shard).toBe(shardOf(at, 8));
    expect(partitionsOf(layout).map((p) => p.shard)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, null]);
  });

  it('reads a partition back from its key, sharded or not', () => {
    expect(webhookPartition.of({ pk: `EP#${EP}#5` })).toEqual({ endpointId: EP, shard: 5 });
    expect(webhookPartition.of({ pk: `EP#${EP}` })).toEqual({ endpointId: EP, shard: null });
  });
});

describe('shardOf', () => {
  it('spreads ids created in the same millisecond evenly', () => {
    const counts = Array<number>(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[shardOf(uuidv7(T0), 8)]!++;
    for (const count of counts) expect(count).toBeGreaterThan(850);
    for (const count of counts) expect(count).toBeLessThan(1150);
  });

  it('is part of the stored format: a stored webhook is found only where this hash put it', () => {
    expect(shardOf('0196d7a2-0000-7000-8000-000000000001', 8)).toBe(7);
    expect(shardOf('0196d7a2-0000-7000-8000-000000000002', 8)).toBe(2);
    expect(shardOf('019ac5e0-1234-7abc-9def-0123456789ab', 8)).toBe(5);
    expect(shardOf('019ac5e0-1234-7abc-9def-0123456789ab', 3)).toBe(1);
  });
});
