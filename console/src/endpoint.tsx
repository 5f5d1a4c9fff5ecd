import { useEffect, useState } from 'preact/hooks';
import type { Api, Endpoint } from './api.ts';
import { Deliveries } from './deliveries.tsx';
import { go, type Route } from './route.ts';
import { CopyButton, ErrorMessage, isNotFound } from './ui.tsx';
import { EndpointActions, listening } from './webhooks.tsx';

/** One endpoint: its settings (Overview) and its delivery log (Deliveries). */

const TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'deliveries', label: 'Deliveries' },
] as const;

function Overview({ endpoint }: { endpoint: Endpoint }) {
  return (
    <dl class="facts">
      <dt>Name</dt>
      <dd>{endpoint.name || '—'}</dd>
      <dt>Signature</dt>
      <dd>{endpoint.signature_algo.toUpperCase()}</dd>
      <dt>Webhook URL</dt>
      <dd>
        <code class="url">{endpoint.webhook_url}</code> <CopyButton text={endpoint.webhook_url} />
      </dd>
      <dt>Events</dt>
      <dd>
        {listening(endpoint)}
        {endpoint.event_types?.length ? (
          <ul class="event-list">
            {endpoint.event_types.map((type) => (
              <li key={type}>
                <code>{type}</code>
              </li>
            ))}
          </ul>
        ) : null}
      </dd>
    </dl>
  );
}

export function EndpointPage({ api, route }: { api: Api; route: Route }) {
  const id = route.endpointId!;
  const [endpoint, setEndpoint] = useState<Endpoint>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    api<{ webhook_endpoint: Endpoint }>('GET', `/api/v1/webhook_endpoints/${encodeURIComponent(id)}`).then(
      (r) => setEndpoint(r.webhook_endpoint),
      (e: unknown) => setError(isNotFound(e) ? new Error('This webhook endpoint does not exist, or it belongs to another organization.') : e),
    );
  }, [api, id]);
  const select = (tab: Route['tab']) => go({ endpointId: id, tab, filters: route.filters });
  const onKeyDown = (event: KeyboardEvent) => {
    // Arrow keys move between tabs, as in the WAI-ARIA tabs pattern.
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    const next = route.tab === 'overview' ? 'deliveries' : 'overview';
    select(next);
    document.getElementById(`tab-${next}`)?.focus();
  };
  return (
    <>
      <p>
        <a href="#/">← Webhooks</a>
      </p>
      <ErrorMessage error={error} />
      {endpoint ? (
        <>
          <div class="section-head">
            <h1 class="endpoint-title">{endpoint.name || endpoint.webhook_url}</h1>
            <EndpointActions api={api} endpoint={endpoint} onChanged={setEndpoint} onDeleted={() => go({ tab: 'overview', filters: route.filters })} />
          </div>
          <div role="tablist" aria-label="Endpoint" class="tabs" onKeyDown={onKeyDown}>
            {TABS.map((tab) => (
              <button
                type="button"
                role="tab"
                id={`tab-${tab.id}`}
                key={tab.id}
                aria-selected={route.tab === tab.id}
                aria-controls={`panel-${tab.id}`}
                tabIndex={route.tab === tab.id ? 0 : -1}
                onClick={() => select(tab.id)}
              >
                {tab.label}
              </button>
            ))}
          </div>
          <div role="tabpanel" id={`panel-${route.tab}`} aria-labelledby={`tab-${route.tab}`}>
            {route.tab === 'overview' ? <Overview endpoint={endpoint} /> : <Deliveries api={api} endpoint={endpoint} route={route} />}
          </div>
        </>
      ) : null}
    </>
  );
}
