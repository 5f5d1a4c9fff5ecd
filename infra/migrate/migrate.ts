import { readFile, rename, writeFile } from 'node:fs/promises';
import { toCustomHeaders } from '#shared/adapters/dynamodb/endpoint-store.ts';
import { toOrganization } from '#shared/adapters/dynamodb/organization-store.ts';
import type { Organization, Webhook, WebhookEndpoint } from '#shared/domain/model.ts';
import type { Store } from '#shared/domain/ports.ts';
import type { Fecb8e2Table, OldEndpoint, OldOrganization, OldWebhook, Page, ScanPosition } from './fecb8e2.ts';

/**
 * `npm run cli -- migrate`: copies an earlier deployment's organizations (with their API key and
 * HMAC token), endpoints and, optionally, finished webhooks into the current table, through the
 * current stores' own writes, so the target layout is whatever the stores write today. Every write
 * is conditional (nothing already there is replaced), so a run can be repeated; a checkpoint after
 * every page lets an interrupted run resume where it stopped.
 */

/** What the copy writes through: the stores' public methods only. */
type MigrationTarget = Pick<
  Store,
  | 'createOrganization'
  | 'findOrganizationIdByKeyHash'
  | 'createEndpoint'
  | 'getEndpoint'
  | 'createWebhookSets'
  | 'updateWebhook'
>;

type Phase = 'organizations' | 'endpoints' | 'webhooks';
const PHASES: readonly Phase[] = ['organizations', 'endpoints', 'webhooks'];

interface Counts {
  copied: number;
  /** Already in the target (an earlier run, or the same id there). */
  present: number;
}

/** Where a run is: the phase and the scan position in it, and what each phase did so far. */
export interface Checkpoint {
  phase: Phase | 'done';
  position?: ScanPosition;
  counts: Record<Phase, Counts>;
}

export interface CheckpointStore {
  load(): Promise<Checkpoint | undefined>;
  save(checkpoint: Checkpoint): Promise<void>;
}

export interface MigrationOptions {
  source: Fecb8e2Table;
  target: MigrationTarget;
  checkpoint: CheckpointStore;
  /** Copy finished webhooks (succeeded or failed) too. @default false */
  webhooks?: boolean;
  /** One line per page done. */
  progress?: (line: string) => void;
}

// The earlier revision's shapes onto the current model: the one place to change when the model does.

const msOrNull = (iso: string | null) => (iso === null ? null : Date.parse(iso));

/** fecb8e2's organization items are what the current codec still reads: one token, at most one previous token. */
const organizationOf = (old: OldOrganization): Organization => toOrganization({ ...old });

const endpointOf = (old: OldEndpoint): WebhookEndpoint => ({
  id: old.id,
  organization_id: old.organization_id,
  webhook_url: old.webhook_url,
  signature_algo: old.signature_algo,
  name: old.name,
  event_types: old.event_types,
  created_at_ms: Date.parse(old.created_at),
  slow_until_ms: old.slow_until,
  disabled_at_ms: msOrNull(old.disabled_at),
  disabled_reason: old.disabled_reason,
  failing_since_ms: old.failing_since,
  // fecb8e2 kept custom headers as a map of name to sealed value; the codec reads it as the list of pairs.
  headers: toCustomHeaders(old.headers),
});

/** A finished webhook, as new (version 0, no response: the store writes a response with an attempt's update). */
const webhookOf = (old: OldWebhook): Webhook => ({
  id: old.id,
  organization_id: old.organization_id,
  endpoint_id: old.endpoint_id,
  endpoint_url: old.endpoint_url,
  webhook_type: old.webhook_type,
  object_type: old.object_type,
  object_id: old.object_id,
  payload: old.payload,
  status: old.status,
  attempt_count: old.attempt_count,
  round_attempts: old.round_attempts,
  attempts: old.attempts.map(({ at, ...attempt }) => ({ ...attempt, at_ms: Date.parse(at) })),
  http_status: old.http_status,
  response_body: null,
  error: old.error,
  next_attempt_at_ms: msOrNull(old.next_attempt_at),
  ...(old.test ? { test: true } : {}),
  created_at_ms: Date.parse(old.created_at),
  updated_at_ms: Date.parse(old.updated_at),
  version: 0,
});

/** The copy of one item: true when written, false when the target had it already. */
type Copy<T> = (item: T) => Promise<boolean>;

const isConditionFailure = (error: unknown) =>
  ['TransactionCanceledException', 'ConditionalCheckFailedException'].includes((error as Error).name);

function copyOrganization(target: MigrationTarget): Copy<{ hash: string; organization: OldOrganization | undefined }> {
  return async ({ hash, organization }) => {
    if (!organization) throw new Error(`API key ${hash.slice(0, 12)}… names an organization the source table lacks`);
    try {
      await target.createOrganization(organizationOf(organization), hash);
      return true;
    } catch (error) {
      // Both items are written together or not at all: the key in place means the organization is too.
      if (isConditionFailure(error) && (await target.findOrganizationIdByKeyHash(hash)) === organization.id)
        return false;
      throw error;
    }
  };
}

function copyEndpoint(target: MigrationTarget): Copy<OldEndpoint> {
  return async (old) => {
    // No limit on a copy: the source kept its own.
    const result = await target.createEndpoint(endpointOf(old), Number.MAX_SAFE_INTEGER);
    if (result === 'ok') return true;
    if (await target.getEndpoint(old.organization_id, old.id)) return false;
    throw new Error(`endpoint ${old.id} of organization ${old.organization_id} could not be copied: ${result}`);
  };
}

function copyWebhook(target: MigrationTarget): Copy<OldWebhook> {
  return async (old) => {
    const webhook = webhookOf(old);
    const [outcome] = await target.createWebhookSets([{ webhooks: [webhook], onlyIfAbsent: true }]);
    if (outcome && 'failed' in outcome) throw outcome.failed;
    if (old.response_body === null) return true;
    // The last response goes in with an update of the state just written; on a second run its version has moved on and nothing is written.
    const { payload: _payload, ...state } = webhook;
    return (await target.updateWebhook(state, { ...state, response_body: old.response_body })) !== undefined;
  };
}

/** One page of a phase: each item copied, counted as copied or already there; resolves to where the next page starts. */
async function copyPage<T>(
  read: (start: ScanPosition) => Promise<Page<T>>,
  copy: Copy<T>,
  position: ScanPosition,
  counts: Counts,
): Promise<{ next: ScanPosition; counts: Counts }> {
  const page = await read(position);
  const after = { ...counts };
  for (const item of page.items) {
    if (await copy(item)) after.copied++;
    else after.present++;
  }
  return { next: page.next, counts: after };
}

/** A page of the phase the checkpoint is in. */
function step(options: MigrationOptions, phase: Phase, position: ScanPosition, counts: Counts) {
  const { source, target } = options;
  switch (phase) {
    case 'organizations':
      return copyPage((start) => source.apiKeys(start), copyOrganization(target), position, counts);
    case 'endpoints':
      return copyPage((start) => source.endpoints(start), copyEndpoint(target), position, counts);
    case 'webhooks':
      return copyPage((start) => source.finishedWebhooks(start), copyWebhook(target), position, counts);
  }
}

/** Runs the copy, from the checkpoint if there is one; resolves to the counts of every phase. */
export async function migrate(options: MigrationOptions): Promise<Checkpoint> {
  const zero = (): Counts => ({ copied: 0, present: 0 });
  let checkpoint: Checkpoint = (await options.checkpoint.load()) ?? {
    phase: 'organizations',
    counts: { organizations: zero(), endpoints: zero(), webhooks: zero() },
  };
  while (checkpoint.phase !== 'done') {
    const phase = checkpoint.phase;
    if (phase === 'webhooks' && !options.webhooks) {
      checkpoint = { phase: 'done', counts: checkpoint.counts };
      break;
    }
    const { next, counts } = await step(options, phase, checkpoint.position, checkpoint.counts[phase]);
    checkpoint = {
      phase: next ? phase : (PHASES[PHASES.indexOf(phase) + 1] ?? 'done'),
      ...(next ? { position: next } : {}),
      counts: { ...checkpoint.counts, [phase]: counts },
    };
    await options.checkpoint.save(checkpoint);
    options.progress?.(`${phase}: ${counts.copied} copied, ${counts.present} already there`);
  }
  await options.checkpoint.save(checkpoint);
  return checkpoint;
}

/** A checkpoint kept in a JSON file, replaced whole on each save (written beside it, then renamed). */
export function fileCheckpoint(path: string): CheckpointStore {
  return {
    async load() {
      try {
        return JSON.parse(await readFile(path, 'utf8')) as Checkpoint;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async save(checkpoint) {
      await writeFile(`${path}.tmp`, `${JSON.stringify(checkpoint, null, 2)}\n`);
      await rename(`${path}.tmp`, path);
    },
  };
}
