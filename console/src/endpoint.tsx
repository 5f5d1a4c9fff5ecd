import { useMemo, useState } from 'preact/hooks';
import {
  endpointPath,
  isNotFound,
  NO_FILTERS,
  type Endpoint,
  type EndpointResponse,
  type TestEventRequest,
  type Webhook,
  type WebhookResponse,
} from './api.ts';
import { Deliveries } from './deliveries.tsx';
import { useApi, useApiClient, useSubmit } from './hooks.ts';
import { ReplayDialog } from './replay.tsx';
import { go, type Route } from './route.ts';
import { useCanManage } from './session.ts';
import { CopyButton, Dialog, ErrorMessage, formatTime, useDocumentTitle, useEventTypes, ViewHeading } from './ui.tsx';
import { EndpointActions, listening } from './webhooks.tsx';

/** One endpoint: its settings (Overview) and its delivery log (Deliveries). */

const TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'deliveries', label: 'Deliveries' },
] as const;

/** The circuit breaker's state, in words. */
function circuitText({ circuit }: Endpoint): string {
  if (circuit.state === 'closed') return 'Closed: webhooks are delivered as usual.';
  const since = `since ${formatTime(circuit.opened_at)}`;
  return circuit.state === 'open'
    ? `Open ${since}: its webhooks wait without spending attempts; a probe goes out after the cool-down.`
    : `Half-open (open ${since}): a probe is out; its success resumes delivery.`;
}

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
      <dt>Rate limit</dt>
      <dd>{endpoint.max_rps ? `At most ${endpoint.max_rps} attempts a second` : 'None'}</dd>
      <dt>Circuit breaker</dt>
      <dd class={`circuit circuit-${endpoint.circuit.state}`}>{circuitText(endpoint)}</dd>
    </dl>
  );
}

/** Sends a signed example of a catalog type to this endpoint only, and links to the webhook it made. */
function SendTestEvent({ endpoint, onClose }: { endpoint: Endpoint; onClose: () => void }) {
  const api = useApiClient();
  const { types, error: catalogError } = useEventTypes();
  const [type, setType] = useState(endpoint.event_types?.[0] ?? 'invoice.created');
  const send = useSubmit((signal, body: TestEventRequest) =>
    api<WebhookResponse>('POST', `${endpointPath(endpoint.lago_id)}/test`, { body, signal }),
  );
  const chosen = types.find((t) => t.key === type);
  const categories = useMemo(() => {
    const byCategory = new Map<string, string[]>();
    for (const t of types) byCategory.set(t.category, [...(byCategory.get(t.category) ?? []), t.key]);
    return [...byCategory];
  }, [types]);
  const sent = send.result?.webhook;
  const open = (webhook: Webhook) => {
    onClose();
    go({ endpointId: endpoint.lago_id, tab: 'deliveries', filters: { ...NO_FILTERS }, webhookId: webhook.lago_id });
  };
  const submit = (event: Event) => {
    event.preventDefault();
    if (chosen) void send.run({ webhook_type: chosen.key });
  };
  return (
    <Dialog title="Send a test event" onClose={onClose}>
      <form class="test-event" onSubmit={submit}>
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
        <ErrorMessage error={send.error} />
        <p role="status">
          {sent ? `Test event ${sent.webhook_type} sent: webhook ${sent.lago_id} is ${sent.status}.` : ''}
        </p>
        <div class="actions">
          {sent ? (
            <button type="button" class="secondary" onClick={() => open(sent)}>
              View the webhook
            </button>
          ) : null}
          <button type="submit" disabled={send.busy || !chosen}>
            Send test event
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** The tabs, as in the WAI-ARIA tabs pattern: arrow keys move between them, and the focus stays on the tab. */
function EndpointTabs({ route, endpoint }: { route: Route; endpoint: Endpoint }) {
  const select = (tab: Route['tab']) => go({ endpointId: endpoint.lago_id, tab, filters: route.filters });
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    const next = route.tab === 'overview' ? 'deliveries' : 'overview';
    select(next);
    document.getElementById(`tab-${next}`)?.focus();
  };
  return (
    <>
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
        {route.tab === 'overview' ? <Overview endpoint={endpoint} /> : <Deliveries endpoint={endpoint} route={route} />}
      </div>
    </>
  );
}

const NOT_FOUND = new Error('This webhook endpoint does not exist, or it belongs to another organization.');

export function EndpointPage({ id, route }: { id: string; route: Route }) {
  const loaded = useApi<EndpointResponse>(endpointPath(id));
  const [testing, setTesting] = useState(false);
  const [replaying, setReplaying] = useState(false);
  const canManage = useCanManage();
  const endpoint = loaded.data?.webhook_endpoint;
  const name = endpoint ? endpoint.name || endpoint.webhook_url : undefined;
  const notFound = isNotFound(loaded.error);
  useDocumentTitle(
    ...(name ? (route.tab === 'deliveries' ? ['Deliveries', name] : [name]) : notFound ? ['Endpoint not found'] : []),
    'Webhooks',
  );
  return (
    <>
      <p>
        <a href="#/">← Webhooks</a>
      </p>
      {!endpoint && loaded.error ? <ViewHeading>Webhook endpoint</ViewHeading> : null}
      <ErrorMessage error={notFound ? NOT_FOUND : loaded.error} />
      {endpoint ? (
        <>
          <div class="section-head">
            <ViewHeading class="endpoint-title">{name}</ViewHeading>
            <span class="row-actions">
              {canManage ? (
                <>
                  <button type="button" class="secondary" onClick={() => setTesting(true)}>
                    Send test event
                  </button>
                  <button type="button" class="secondary" onClick={() => setReplaying(true)}>
                    Replay
                  </button>
                </>
              ) : null}
              <EndpointActions
                endpoint={endpoint}
                onChanged={loaded.reload}
                onDeleted={() => go({ tab: 'overview', filters: route.filters })}
              />
            </span>
          </div>
          {testing ? <SendTestEvent endpoint={endpoint} onClose={() => setTesting(false)} /> : null}
          {replaying ? <ReplayDialog endpoint={endpoint} onClose={() => setReplaying(false)} /> : null}
          <EndpointTabs route={route} endpoint={endpoint} />
        </>
      ) : null}
    </>
  );
}
