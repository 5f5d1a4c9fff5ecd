// Covers shared/domain/ids.ts: UUIDv7 layout, ordering by creation time, the time-bound sort keys and idTime.
import { describe, expect, it } from 'vitest';
import { highestIdAt, idTime, isUuid, lowestIdAt, uuidv7 } from '#shared/domain/ids.ts';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const T = Date.UTC(2025, 5, 1, 12, 0, 0, 123);

describe('uuidv7', () => {
  it('has the UUID layout, version 7 and the RFC 4122 variant', () => {
    for (let i = 0; i < 200; i++) {
      const id = uuidv7();
      expect(id).toMatch(UUID_V7);
      expect(isUuid(id)).toBe(true);
    }
  });

  it('carries the creation time in its first 48 bits', () => {
    const id = uuidv7(T);
    expect(id.slice(0, 13).replace('-', '')).toBe(T.toString(16).padStart(12, '0'));
    expect(idTime(id)).toBe(T);
  });

  it('round-trips the time through idTime, including epoch 0 and the 48-bit maximum', () => {
    for (const ms of [0, 1, T, Date.now(), 2 ** 48 - 1]) expect(idTime(uuidv7(ms))).toBe(ms);
  });

  it('is random below the timestamp', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => uuidv7(T)));
    expect(ids.size).toBe(1000);
  });

  it('sorts by creation time as plain strings across milliseconds', () => {
    const times = [T - 86_400_000, T - 1, T, T + 1, T + 15, T + 256, T + 4096, T + 65_536, T + 86_400_000];
    const ids = times.map((ms) => uuidv7(ms));
    const shuffled = [...ids].reverse();
    expect(shuffled.sort()).toEqual(ids);
    for (let i = 1; i < ids.length; i++) expect(ids[i - 1]! < ids[i]!).toBe(true);
  });
});

describe('lowestIdAt / highestIdAt', () => {
  it('bound every id created within the window and exclude ids just outside it', () => {
    const from = T;
    const to = T + 5000;
    const low = lowestIdAt(from);
    const high = highestIdAt(to);
    for (let i = 0; i < 100; i++) {
      for (const ms of [from, from + 1, to - 1, to]) {
        const id = uuidv7(ms);
        expect(id >= low, `${id} >= ${low}`).toBe(true);
        expect(id <= high, `${id} <= ${high}`).toBe(true);
      }
      expect(uuidv7(from - 1) < low).toBe(true);
      expect(uuidv7(to + 1) > high).toBe(true);
    }
  });

  it('bounds even the smallest and largest ids of a millisecond', () => {
    const prefix = lowestIdAt(T);
    const smallest = `${prefix}7000-8000-000000000000`;
    const largest = `${prefix}7fff-bfff-ffffffffffff`;
    expect(smallest >= lowestIdAt(T)).toBe(true);
    expect(largest <= highestIdAt(T)).toBe(true);
    expect(largest < lowestIdAt(T + 1)).toBe(true);
    expect(highestIdAt(T - 1) < smallest).toBe(true);
  });

  it('clamps negative times to the epoch', () => {
    expect(lowestIdAt(-5)).toBe('00000000-0000-');
    expect(uuidv7(0) >= lowestIdAt(-5)).toBe(true);
  });
});

describe('isUuid', () => {
  it('refuses anything that is not a lower-case UUID', () => {
    expect(isUuid('not-a-uuid')).toBe(false);
    expect(isUuid(uuidv7().toUpperCase())).toBe(false);
    expect(isUuid(`${uuidv7()}x`)).toBe(false);
  });
});
