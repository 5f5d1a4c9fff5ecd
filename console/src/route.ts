import { useEffect, useState } from 'preact/hooks';
import { NO_FILTERS, type WebhookFilters } from './api.ts';

/**
 * The console's place lives in the URL's hash (#/endpoints/<id>/deliveries?status=failed), so a
 * filtered view can be bookmarked and the server only ever serves index.html. The API key is never here.
 */

export interface Route {
  endpointId?: string;
  tab: 'overview' | 'deliveries';
  filters: WebhookFilters;
  webhookId?: string;
}

function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);
  const filters: WebhookFilters = { ...NO_FILTERS };
  for (const name of Object.keys(NO_FILTERS) as (keyof WebhookFilters)[]) filters[name] = params.get(name) ?? '';
  const match = /^\/endpoints\/([^/]+)(\/deliveries)?$/.exec(path);
  if (!match) return { tab: 'overview', filters };
  const webhookId = params.get('webhook') ?? undefined;
  return {
    endpointId: decodeURIComponent(match[1]!),
    tab: match[2] ? 'deliveries' : 'overview',
    filters,
    ...(webhookId ? { webhookId } : {}),
  };
}

function routeHash(route: Route): string {
  if (!route.endpointId) return '#/';
  const path = `#/endpoints/${encodeURIComponent(route.endpointId)}${route.tab === 'deliveries' ? '/deliveries' : ''}`;
  if (route.tab !== 'deliveries') return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(route.filters)) if (value) params.set(name, value);
  if (route.webhookId) params.set('webhook', route.webhookId);
  const query = params.toString();
  return query ? `${path}?${query}` : path;
}

export function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return parseRoute(hash);
}

export const go = (route: Route) => {
  location.hash = routeHash(route);
};

/** Whether the console has left the view it opened on (`view` names the view shown). */
export function useNavigated(view: string): boolean {
  const [first] = useState(view);
  const [left, setLeft] = useState(false);
  // Adjusted while rendering, as a value derived from the previous render (no effect, no extra frame).
  if (!left && view !== first) setLeft(true);
  return left || view !== first;
}
