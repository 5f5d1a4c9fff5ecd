import type { RateLimits } from '../organizations/rate-limits.ts';
import type { DeliveryQueue, Logger, Metrics, Store } from '../ports.ts';
import type { PublishJournal } from './intents.ts';

/**
 * What the webhook use cases run on, built once by shared/runtime/deps.ts's `webhookDeps`. Each module
 * picks the fields it uses and narrows `store` to the aggregates it reads and writes, so a test
 * fake implements only those.
 */
export interface WebhookDeps<S = Store> {
  store: S;
  queue: DeliveryQueue;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
  /** Attempts per round (retry schedule length + 1). */
  maxAttempts: number;
  /** How long past its due time a live webhook may wait before it counts as stuck. */
  stuckAfterMs: number;
  /** This process's publish intents (intents.ts). */
  journal: PublishJournal;
  /** Called between a publish's store write and its queue send: local chaos runs kill the process there. */
  afterStore?: () => void;
  /** Test events, retries and resends, and recoveries are counted against the organization's limits. */
  rateLimits: Pick<RateLimits, 'take'>;
}
