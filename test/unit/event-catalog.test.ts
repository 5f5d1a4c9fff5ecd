// Covers shared/domain/catalog/: the catalog holds every type of Lago's own list (a dated copy kept as data, test/fixtures/), with Lago's deprecated flags, and keeps the types Lago retired as deprecated but accepted.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WEBHOOK_EVENT_TYPES } from '#shared/domain/catalog/event-catalog.ts';
import { isWebhookType } from '#shared/domain/catalog/event-types.ts';

interface LagoList {
  read_on: string;
  types: { name: string; deprecated: boolean }[];
}

const lago = JSON.parse(
  readFileSync(new URL('../fixtures/lago-webhook-event-types-2026-08.json', import.meta.url), 'utf8'),
) as LagoList;
const ours = new Map(WEBHOOK_EVENT_TYPES.map((type) => [type.key as string, type]));

describe("the event catalog against Lago's list of 2026-08", () => {
  it('has every type of Lago, deprecated where Lago says so', () => {
    expect(lago.types).toHaveLength(75);
    for (const { name, deprecated } of lago.types) {
      expect(ours.get(name), name).toMatchObject({ key: name, deprecated });
    }
  });

  it('keeps the types Lago no longer lists, deprecated and still accepted', () => {
    const listed = new Set(lago.types.map((type) => type.name));
    const retired = [...ours.keys()].filter((key) => !listed.has(key));
    expect(retired).toEqual(['credit_note.refund_failure', 'invoice.add_on_added']);
    for (const key of retired) {
      expect(ours.get(key)?.deprecated, key).toBe(true);
      expect(isWebhookType(key), key).toBe(true);
    }
  });
});
