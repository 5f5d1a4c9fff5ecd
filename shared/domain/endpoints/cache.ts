import type { WebhookEndpoint } from '../model.ts';

/**
 * The sender's endpoints, kept for a few seconds: at a steady rate an endpoint is read once per
 * window rather than once per delivery. A change to an endpoint (its URL, algorithm, deletion)
 * reaches deliveries within `ENDPOINT_CACHE_MS` (at once when it is made through the same process,
 * as in local mode); docs/limits.md states this bound.
 */
const ENDPOINT_CACHE_MS = 5_000;
/** Endpoints kept at most (the oldest go first). */
const MAX_ENTRIES = 10_000;

type Read = (organizationId: string, endpointId: string) => Promise<WebhookEndpoint | undefined>;

/** The caches of this process, by the store they read: a change made through the same process is seen at once. */
const forgetters = new WeakMap<object, Set<(key: string) => void>>();

/** After an endpoint changes or is deleted: this process's caches read it again. */
export function forgetEndpoint(store: object, organizationId: string, endpointId: string): void {
  for (const forget of forgetters.get(store) ?? []) forget(`${organizationId}#${endpointId}`);
}

export function cachedEndpoints(store: object, read: Read, now: () => number, ttlMs = ENDPOINT_CACHE_MS): Read {
  const entries = new Map<string, { at: number; value: Promise<WebhookEndpoint | undefined> }>();
  const forget = (key: string) => void entries.delete(key);
  forgetters.set(store, (forgetters.get(store) ?? new Set()).add(forget));
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
