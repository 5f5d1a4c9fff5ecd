import { createHash, randomBytes } from 'node:crypto';

/**
 * UUID version 7: the first 48 bits are the Unix time in milliseconds, so ids sort by creation
 * time as plain strings. Webhook logs use them as sort keys: "newest first" and date windows are
 * key conditions, and a cursor is simply the last id seen.
 */
export function uuidv7(nowMs: number = Date.now()): string {
  return formatV7(randomBytes(16), nowMs);
}

/** A UUIDv7 at `ms` whose other bits come from `seed`: the same seed makes the same id. */
export function derivedUuidv7(ms: number, seed: string): string {
  return formatV7(createHash('sha256').update(seed).digest().subarray(0, 16), ms);
}

function formatV7(bytes: Buffer, ms: number): string {
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function timePrefix(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-`;
}

/** The smallest sort key an id created at or after `ms` can have. */
export const lowestIdAt = (ms: number): string => timePrefix(ms);

/** A sort key above every id created at or before `ms` ('~' sorts after every hex digit). */
export const highestIdAt = (ms: number): string => `${timePrefix(ms)}~`;

/** The creation time encoded in a UUIDv7. */
export function idTime(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** A UUID as this service writes them: lowercase hex. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const isUuid = (value: string): boolean => UUID.test(value);
