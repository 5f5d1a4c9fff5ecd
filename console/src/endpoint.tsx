import { useEffect, useMemo, useState } from 'preact/hooks';
import { NO_FILTERS, type Api, type Endpoint, type Webhook } from './api.ts';
import { Deliveries } from './deliveries.tsx';
import { go, type Route } from './route.ts';
import { CopyButton, Dialog, ErrorMessage, isNotFound, useEventTypes } from './ui.tsx';
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

/** Sends a signed example of a catalog type to this endpoint only, and links to the webhook it made. */
function SendTestEvent({ api, endpoint, onClose }: { api: Api; endpoint: Endpoint; onClose: () => void }) {
  const { types, error: catalogError } = useEventTypes(api);
  const [type, setType] = useState(endpoint.event_types?.[0] ?? 'invoice.created');
  const [sent, setSent] = useState<Webhook>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const categories = useMemo(() => {
    const byCategory = new Map<string, string[]>();
    for (const t of types) byCategory.set(t.category, [...(byCategory.get(t.category) ?? []), t.key]);
    return [...byCategory];
  }, [types]);
  const send = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setSent(undefined);
    try {
      const r = await api<{ webhook: Webhook }>(
        'POST',
        `/api/v1/webhook_endpoints/${encodeURIComponent(endpoint.lago_id)}/test`,
        { webhook_type: type },
      );
      setSent(r.webhook);
    } catch (e) {
      setError(e);
    }
    setBusy(false);
  };
  const open = (webhook: Webhook) => {
    onClose();
    go({ endpointId: endpoint.lago_id, tab: 'deliveries', filters: { ...NO_FILTERS }, webhookId: webhook.lago_id });
  };
  return (
    <Dialog title="Send a test event" onClose={onClose}>
      <form class="test-event" onSubmit={send}>
        <p class="hint">
          Sends a signed example of the type to this endpoint only, whatever events it listens to. It is logged like any
          webhook, marked as a test.
        </p>
        <label for="test-type">Event type to send</label>
        <select id="test-type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
          {categories.map(([category, keys]) => (
            <optgroup key={category} label={category.replaceAll('_', ' ')}>
              {keys.map((key) => (
                <option key={key} value={key}>
                  {key}
                </option>
              ))}
            </optgroup>
          ))}
        </select>
        <ErrorMessage error={catalogError} />
        <ErrorMessage error={error} />
        <p role="status">
          {sent ? `Test event ${sent.webhook_type} sent: webhook ${sent.lago_id} is ${sent.status}.` : ''}
        </p>
        <div class="actions">
          {sent ? (
            <button type="button" class="secondary" onClick={() => open(sent)}>
              View the webhook
            </button>
          ) : null}
          <button type="submit" disabled={busy || types.length === 0}>
            Send test event
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function EndpointPage({ api, route }: { api: Api; route: Route }) {
  const id = route.endpointId!;
  const [endpoint, setEndpoint] = useState<Endpoint>();
  const [error, setError] = useState<unknown>();
  const [testing, setTesting] = useState(false);
  useEffect(() => {
    api<{ webhook_endpoint: Endpoint }>('GET', `/api/v1/webhook_endpoints/${encodeURIComponent(id)}`).then(
      (r) => setEndpoint(r.webhook_endpoint),
      (e: unknown) =>
        setError(
          isNotFound(e) ? new Error('This webhook endpoint does not exist, or it belongs to another organization.') : e,
        ),
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
            <span class="row-actions">
              <button type="button" class="secondary" onClick={() => setTesting(true)}>
                Send test event
              </button>
              <EndpointActions
                api={api}
                endpoint={endpoint}
                onChanged={setEndpoint}
                onDeleted={() => go({ tab: 'overview', filters: route.filters })}
              />
            </span>
          </div>
          {testing ? <SendTestEvent api={api} endpoint={endpoint} onClose={() => setTesting(false)} /> : null}
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
            {route.tab === 'overview' ? (
              <Overview endpoint={endpoint} />
            ) : (
              <Deliveries api={api} endpoint={endpoint} route={route} />
            )}
          </div>
        </>
      ) : null}
    </>
  );
}
