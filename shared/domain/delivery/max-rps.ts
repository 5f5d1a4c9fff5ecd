import type { WebhookEndpoint } from '../model.ts';
import type { CounterWindow, RateCounters } from '../ports.ts';

/**
 * An endpoint's `max_rps`, kept across every sender process: before its POST, an attempt takes a
 * place in a counter the store shares (the rate limits' fixed windows, organizations/rate-limits.ts),
 * one conditional write. The second is cut into slots of 1/n s, n the largest divisor of max_rps up to
 * 10, each allowing max_rps / n: a burst is spread over the second rather than sent at its start, so any
 * second, aligned or not, sees at most max_rps × (1 + 1/n) (6 for max_rps 5). An endpoint without
 * max_rps takes nothing and writes nothing.
 */

const MAX_SLOTS_PER_SECOND = 10;

/** The slot `nowMs` falls in, and how many attempts it allows. */
export function sendSlot(maxRps: number, nowMs: number): { startMs: number; endMs: number; limit: number } {
  let slots = Math.min(maxRps, MAX_SLOTS_PER_SECOND);
  while (maxRps % slots !== 0) slots--;
  const index = Math.floor((nowMs * slots) / 1000);
  return {
    startMs: Math.floor((index * 1000) / slots),
    endMs: Math.floor(((index + 1) * 1000) / slots),
    limit: maxRps / slots,
  };
}

/** Takes a place for one attempt to the endpoint now; false when its max_rps is reached (or true when it has none). */
export async function takeSendPlace(
  counters: RateCounters,
  endpoint: Pick<WebhookEndpoint, 'id' | 'organization_id' | 'max_rps'>,
  nowMs: number,
): Promise<boolean> {
  if (!endpoint.max_rps) return true;
  const { startMs, endMs, limit } = sendSlot(endpoint.max_rps, nowMs);
  const window: CounterWindow = {
    organizationId: endpoint.organization_id,
    action: `max_rps#${endpoint.id}`,
    startMs,
    endMs,
  };
  const full = await counters.take(window, [{ name: 'attempts', limit }]);
  return full.length === 0;
}
