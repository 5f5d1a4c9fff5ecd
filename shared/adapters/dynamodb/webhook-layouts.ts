import { lowestIdAt } from '../../domain/ids.ts';
import { eachLimit, PARALLEL_REQUESTS, type Item, type Table } from './client.ts';
import { endpointLayoutKey, PK, shardOf, type WebhookPartition } from './keys.ts';

/**
 * How each endpoint's webhooks are spread over partitions (keys.ts): its layout, one small item per
 * endpoint, written once and never changed. A webhook's partition follows from its id and its
 * endpoint's layout alone, so every read and write addresses exactly one key.
 *
 * An endpoint gets its layout when it is created, with the shard count of the time
 * (WEBHOOK_SHARDS). An endpoint from a release before shards gets one with its first publish after
 * the upgrade, whose shards take the webhooks created from SHARDS_DELAY_MS later on: by then no
 * sender or API of the earlier release, which looks in the unsharded partition only, is still
 * running. Its older webhooks stay in the unsharded partition and are read there. Changing
 * WEBHOOK_SHARDS applies to endpoints that get their layout afterwards; existing layouts keep
 * theirs, so no webhook ever moves.
 */

/** The shard count of an endpoint created without WEBHOOK_SHARDS set. */
export const DEFAULT_WEBHOOK_SHARDS = 8;

/** An endpoint from before shards uses them for webhooks created this long after its first publish since: longer than any Lambda invocation of the release before lasts. */
const SHARDS_DELAY_MS = 15 * 60_000;

export interface EndpointLayout {
  endpointId: string;
  /** Its webhooks' shards; 0 while it has none (an endpoint from before shards, not published to since). */
  shards: number;
  /** Webhooks with a lower id are in the unsharded partition: those of an endpoint from before shards. */
  shardedFrom?: string;
}

/** Layouts remembered by a process: they never change, so they are kept until this many are known. */
const REMEMBERED = 10_000;

/** What the item holds; an item without `shards` (a deleted endpoint that never had any) is no layout. */
function fromItem(endpointId: string, item: Item | undefined): EndpointLayout {
  if (typeof item?.shards !== 'number') return { endpointId, shards: 0 };
  const from = item.sharded_from;
  return { endpointId, shards: item.shards, ...(typeof from === 'string' ? { shardedFrom: from } : {}) };
}

/** Whether the unsharded partition may hold some of the endpoint's webhooks. */
export const holdsUnsharded = (layout: EndpointLayout): boolean =>
  layout.shards === 0 || layout.shardedFrom !== undefined;

/** The partitions an endpoint's webhooks may be in: its shards, then the unsharded one. */
export function partitionsOf(layout: EndpointLayout): WebhookPartition[] {
  const { endpointId } = layout;
  return [
    ...Array.from({ length: layout.shards }, (_, shard) => ({ endpointId, shard })),
    ...(holdsUnsharded(layout) ? [{ endpointId, shard: null }] : []),
  ];
}

/** The one partition a webhook of this endpoint is in. */
export function placeOf(layout: EndpointLayout, id: string): WebhookPartition {
  const { endpointId, shards, shardedFrom } = layout;
  const unsharded = shards === 0 || (shardedFrom !== undefined && id < shardedFrom);
  return { endpointId, shard: unsharded ? null : shardOf(id, shards) };
}

export class EndpointLayouts {
  /** The shard count a new layout gets (WEBHOOK_SHARDS). */
  readonly shards: number;
  private readonly table: Table;
  private readonly now: () => number;
  private readonly known = new Map<string, EndpointLayout>();

  constructor(table: Table, shards: number, now: () => number = Date.now) {
    this.table = table;
    this.shards = shards;
    this.now = now;
  }

  private remember(layout: EndpointLayout): EndpointLayout {
    if (layout.shards === 0) return layout;
    if (this.known.size >= REMEMBERED) this.known.delete(this.known.keys().next().value!);
    this.known.set(layout.endpointId, layout);
    return layout;
  }

  /** The layouts of these endpoints: those remembered, the others read in one batch, consistently (a layout just written is seen). */
  async of(endpointIds: readonly string[]): Promise<Map<string, EndpointLayout>> {
    const layouts = new Map<string, EndpointLayout>();
    const unknown = [...new Set(endpointIds)].filter((id) => {
      const known = this.known.get(id);
      if (known) layouts.set(id, known);
      return !known;
    });
    if (unknown.length === 0) return layouts;
    const items = new Map(
      (await this.table.batchGet(unknown.map(endpointLayoutKey))).map((item) => [item[PK] as string, item]),
    );
    for (const id of unknown) layouts.set(id, this.remember(fromItem(id, items.get(endpointLayoutKey(id)[PK]))));
    return layouts;
  }

  async one(endpointId: string): Promise<EndpointLayout> {
    const known = this.known.get(endpointId);
    if (known) return known;
    const item = await this.table.get(endpointLayoutKey(endpointId), { consistent: true });
    return this.remember(fromItem(endpointId, item));
  }

  /** The item a new endpoint's creation writes beside it, and what to call once it is written. */
  forNewEndpoint(endpointId: string): { item: Item; written: () => void } {
    return {
      item: { ...endpointLayoutKey(endpointId), shards: this.shards },
      written: () => void this.remember({ endpointId, shards: this.shards }),
    };
  }

  /**
   * The layouts of endpoints about to get new webhooks. One without a layout (created before
   * shards) gets one now, before any webhook of it is written in a shard; if another process gave
   * it one meanwhile, that one is read and kept.
   */
  async forWriting(endpointIds: readonly string[]): Promise<Map<string, EndpointLayout>> {
    const layouts = await this.of(endpointIds);
    const missing = [...layouts.values()].filter((layout) => layout.shards === 0);
    await eachLimit(missing, PARALLEL_REQUESTS, async ({ endpointId }) => {
      const shardedFrom = lowestIdAt(this.now() + SHARDS_DELAY_MS);
      const given = await this.table.updateIf({
        Key: endpointLayoutKey(endpointId),
        UpdateExpression: 'SET shards = :shards, sharded_from = :from',
        ConditionExpression: 'attribute_not_exists(shards)',
        ExpressionAttributeValues: { ':shards': this.shards, ':from': shardedFrom },
      });
      const layout = given
        ? { endpointId, shards: this.shards, shardedFrom }
        : fromItem(endpointId, await this.table.get(endpointLayoutKey(endpointId), { consistent: true }));
      layouts.set(endpointId, this.remember(layout));
    });
    return layouts;
  }
}
