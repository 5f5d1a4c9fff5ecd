/**
 * DynamoDB's capacity arithmetic on items as they travel on the wire (DynamoDB JSON: `{ "S": "…" }`),
 * after "DynamoDB item sizes and formats" and "Read/write capacity units" in the DynamoDB
 * developer guide. The model estimates a request's units with it before admitting the request;
 * DynamoDB Local's ConsumedCapacity gives the actual units afterwards.
 */

export interface WireValue {
  S?: string;
  N?: string;
  /** Base64 of the bytes on the wire; the bytes themselves in an SDK's output. */
  B?: string | Uint8Array;
  BOOL?: boolean;
  NULL?: boolean;
  SS?: string[];
  NS?: string[];
  BS?: (string | Uint8Array)[];
  L?: WireValue[];
  M?: WireItem;
}
export type WireItem = Record<string, WireValue>;

/** 1 write unit per KB written, 1 read unit per 4 KB read (strongly consistent). */
const WRITE_UNIT_BYTES = 1024;
const READ_UNIT_BYTES = 4096;

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');
const binary = (value: string | Uint8Array) => (typeof value === 'string' ? Buffer.from(value, 'base64') : value);

/** About 1 byte per two significant digits, plus 1; leading and trailing zeroes do not count. */
export function numberBytes(number: string): number {
  const digits = number
    .replace(/^[-+]/, '')
    .replace(/e.*$/i, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(digits.length / 2) + 1;
}

/** The bytes of a value, without its name: lists and maps cost 3 bytes, and 1 more per element. */
export function valueBytes(value: WireValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.B !== undefined) return binary(value.B).length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((sum, s) => sum + utf8(s), 0);
  if (value.NS) return value.NS.reduce((sum, n) => sum + numberBytes(n), 0);
  if (value.BS) return value.BS.reduce((sum, b) => sum + binary(b).length, 0);
  if (value.L) return 3 + value.L.reduce((sum, element) => sum + valueBytes(element) + 1, 0);
  if (value.M) return 3 + Object.entries(value.M).reduce((sum, [name, v]) => sum + utf8(name) + valueBytes(v) + 1, 0);
  return 0;
}

/** An item's size: the names and values of its attributes. */
export function itemBytes(item: WireItem | undefined): number {
  if (!item) return 0;
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueBytes(value), 0);
}

/** Write units for an item of `bytes` (1 per KB, rounded up; at least 1). */
export const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));

/** Read units for `bytes` read (1 per 4 KB, rounded up; at least 1), halved for an eventually consistent read. */
export const readUnits = (bytes: number, consistent: boolean) =>
  Math.max(1, Math.ceil(bytes / READ_UNIT_BYTES)) * (consistent ? 1 : 0.5);

/** The attributes of `item` named in `names` (absent ones left out). */
export function pick(item: WireItem, names: Iterable<string>): WireItem {
  const picked: WireItem = {};
  for (const name of names) if (item[name] !== undefined) picked[name] = item[name];
  return picked;
}

/** A key value as text: the string, the number's digits, or the binary's base64. */
export function keyText(value: WireValue | undefined): string | undefined {
  if (value?.B !== undefined) return Buffer.from(binary(value.B)).toString('base64');
  return value?.S ?? value?.N;
}
