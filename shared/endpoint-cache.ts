import type { WebhookEndpoint } from './model.ts';

/**
 * The sender's endpoints, kept for a few seconds: at a steady rate an endpoint is read once per
 * window rather than once per delivery. A change to an endpoint (its URL, algorithm, deletion)
 * reaches deliveries within `ENDPOINT_CACHE_MS`; the README states this bound.
 */
export const ENDPOINT_CACHE_MS = 5_000;
/** Endpoints kept at most (the oldest go first). */
const MAX_ENTRIES = 10_000;

export function cachedEndpoints(
  read: (organizationId: string, endpointId: string) => Promise<WebhookEndpoint | undefined>,
  now: () => number,
  ttlMs = ENDPOINT_CACHE_MS,
): (organizationId: string, endpointId: string) => Promise<WebhookEndpoint | undefined> {
  const entries = new Map<string, { at: number; value: Promise<WebhookEndpoint | undefined> }>();
  return (organizationId, endpointId) => {
    const key = `${organizationId}#${endpointId}`;
    const hit = entries.get(key);
    if (hit && now() - hit.at < ttlMs) return hit.value;
    const value = read(organizationId, endpointId);
    entries.delete(key);
    entries.set(key, { at: now(), value });
    // A failed read is not kept: the next delivery reads again.
    value.catch(() => entries.get(key)?.value === value && entries.delete(key));
    if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
    return value;
  };
}
