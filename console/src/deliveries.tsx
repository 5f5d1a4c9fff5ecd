import { useEffect, useRef, useState } from 'preact/hooks';
import {
  webhookListQuery,
  NO_FILTERS,
  type Api,
  type Endpoint,
  type WebhookFilters,
  type Webhook,
  type WebhookDetail,
} from './api.ts';
import { go, type Route } from './route.ts';
import { CopyButton, Dialog, ErrorMessage, formatTime, useEventTypes } from './ui.tsx';

/** An endpoint's delivery log: health strip, filters, the list, a webhook's details, retry and recover. */

const PAGE_SIZE = 20;
const STATUSES = ['pending', 'retrying', 'succeeded', 'failed'] as const;
const HTTP_FILTERS = [
  '2xx',
  '3xx',
  '4xx',
  '5xx',
  'timeout',
  '400',
  '401',
  '403',
  '404',
  '408',
  '429',
  '500',
  '502',
  '503',
  '504',
];
const settled = (status: string) => status === 'succeeded' || status === 'failed';
/** How long a panel follows a webhook that is still being delivered: a bounded poll. */
const FOLLOW = { intervalMs: 1000, polls: 90 };

const httpText = (w: Webhook) =>
  w.http_status !== null ? String(w.http_status) : w.attempts_count > 0 ? 'timeout or error' : '—';

function Status({ status }: { status: string }) {
  return <span class={`status s-${status}`}>{status}</span>;
}

function HealthStrip({ items, error }: { items: Webhook[] | undefined; error: unknown }) {
  const counts = new Map<string, number>();
  for (const w of items ?? []) counts.set(w.status, (counts.get(w.status) ?? 0) + 1);
  const summary = items?.length
    ? STATUSES.filter((s) => counts.get(s))
        .map((s) => `${counts.get(s)} ${s}`)
        .join(', ')
    : 'No delivery yet';
  return (
    <section class="card" aria-labelledby="health-title">
      <h2 id="health-title">Recent health</h2>
      <ErrorMessage error={error} />
      <p>
        Last {items?.length ?? 0} deliveries: {summary}
      </p>
      {items?.length ? (
        <ol class="strip" aria-label="Last deliveries, oldest first">
          {[...items].reverse().map((w) => (
            <li
              key={w.lago_id}
              class={`s-${w.status}`}
              title={`${w.status} · ${w.webhook_type} · ${formatTime(w.created_at)}`}
            >
              <span class="sr-only">{w.status}</span>
            </li>
          ))}
        </ol>
      ) : null}
    </section>
  );
}

function Toolbar({ api, route, onRefresh }: { api: Api; route: Route; onRefresh: () => void }) {
  const { types, error: catalogError } = useEventTypes(api);
  const { filters } = route;
  const [search, setSearch] = useState(filters.q);
  useEffect(() => setSearch(filters.q), [filters.q]);
  const set = (change: Partial<WebhookFilters>) =>
    go({ ...route, webhookId: undefined, filters: { ...filters, ...change } });
  const select = (id: string, label: string, name: keyof WebhookFilters, any: string, options: readonly string[]) => (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={filters[name]} onChange={(e) => set({ [name]: e.currentTarget.value })}>
        <option value="">{any}</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </div>
  );
  return (
    <form
      class="toolbar"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        set({ q: search.trim() });
      }}
    >
      <div class="field grow">
        <label for="log-search">Search</label>
        <input
          id="log-search"
          type="search"
          placeholder="Webhook id or object id"
          value={search}
          onInput={(e) => setSearch(e.currentTarget.value)}
        />
      </div>
      {select('log-status', 'Status', 'status', 'Any status', STATUSES)}
      {select(
        'log-type',
        'Event type',
        'type',
        'Any event type',
        types.map((t) => t.key),
      )}
      {select('log-http', 'HTTP status', 'http', 'Any HTTP status', HTTP_FILTERS)}
      <div class="field">
        <label for="log-from">From</label>
        <input id="log-from" type="date" value={filters.from} onChange={(e) => set({ from: e.currentTarget.value })} />
      </div>
      <div class="field">
        <label for="log-to">To</label>
        <input id="log-to" type="date" value={filters.to} onChange={(e) => set({ to: e.currentTarget.value })} />
      </div>
      <div class="field buttons">
        <button type="submit" class="secondary">
          Apply search
        </button>
        <button
          type="button"
          class="secondary"
          onClick={() => go({ ...route, webhookId: undefined, filters: { ...NO_FILTERS } })}
        >
          Clear filters
        </button>
        <button type="button" onClick={onRefresh}>
          Refresh
        </button>
      </div>
      <ErrorMessage error={catalogError} />
    </form>
  );
}

function Recover({ api, endpoint }: { api: Api; endpoint: Endpoint }) {
  const today = new Date().toISOString().slice(0, 10);
  const [from, setFrom] = useState(today);
  const [to, setTo] = useState(today);
  const [result, setResult] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setResult(undefined);
    try {
      const r = await api<{ recovered: number; has_more: boolean }>('POST', '/api/v1/webhooks/recover', {
        webhook_endpoint_id: endpoint.lago_id,
        from_date: from,
        to_date: to,
      });
      setResult(
        `${r.recovered} failed webhook${r.recovered === 1 ? '' : 's'} queued again.${r.has_more ? ' More remain in this window: click Recover again.' : ''}`,
      );
    } catch (e) {
      setError(e);
    }
    setBusy(false);
  };
  return (
    <section class="card" aria-labelledby="recover-title">
      <h2 id="recover-title">Recover failed webhooks</h2>
      <p class="hint">
        After an outage, send again every failed webhook of this endpoint created in a window (at most 14 days).
      </p>
      <form class="toolbar" onSubmit={submit}>
        <div class="field">
          <label for="recover-from">Recover from</label>
          <input id="recover-from" type="date" required value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="recover-to">Recover to</label>
          <input id="recover-to" type="date" required value={to} onChange={(e) => setTo(e.currentTarget.value)} />
        </div>
        <div class="field buttons">
          <button type="submit" disabled={busy}>
            Recover
          </button>
        </div>
      </form>
      <p role="status">{result}</p>
      <ErrorMessage error={error} />
    </section>
  );
}

function DetailPanel({
  api,
  id,
  onClose,
  onChange,
}: {
  api: Api;
  id: string;
  onClose: () => void;
  onChange: (webhook: Webhook) => void;
}) {
  const [webhook, setWebhook] = useState<WebhookDetail>();
  const [error, setError] = useState<unknown>();
  const [retryError, setRetryError] = useState<unknown>();
  const [polls, setPolls] = useState(0);
  const alive = useRef(true);
  useEffect(() => () => void (alive.current = false), []);
  const load = () =>
    api<{ webhook: WebhookDetail }>('GET', `/api/v1/webhooks/${encodeURIComponent(id)}`).then(
      (r) => {
        if (!alive.current) return;
        setWebhook(r.webhook);
        setError(undefined);
        onChange(r.webhook);
      },
      (e: unknown) => alive.current && setError(e),
    );
  useEffect(() => {
    void load();
  }, [id]);
  // Follows a webhook still being delivered until it settles, for a bounded time.
  useEffect(() => {
    if (!webhook || settled(webhook.status) || polls >= FOLLOW.polls) return;
    const timer = setTimeout(() => void load().then(() => setPolls((n) => n + 1)), FOLLOW.intervalMs);
    return () => clearTimeout(timer);
  }, [webhook, polls]);
  const [resent, setResent] = useState(false);
  /** Retry (a failed webhook) or resend (any settled one): a new round, then the panel follows it. */
  const redeliver = async (action: 'retry' | 'resend') => {
    setRetryError(undefined);
    setResent(false);
    try {
      await api('POST', `/api/v1/webhooks/${encodeURIComponent(id)}/${action}`);
      setResent(action === 'resend');
      setPolls(0);
      await load();
    } catch (e) {
      setRetryError(e);
    }
  };
  const following = webhook && !settled(webhook.status) && polls < FOLLOW.polls;
  return (
    <Dialog title="Webhook details" onClose={onClose} panel>
      <ErrorMessage error={error} />
      {webhook ? (
        <div class="detail">
          <dl class="facts">
            <dt>Webhook type</dt>
            <dd>
              <code>{webhook.webhook_type}</code>
            </dd>
            <dt>Status</dt>
            <dd>
              <Status status={webhook.status} />{' '}
              {following ? <span class="hint">(following until it settles)</span> : null}
            </dd>
            {webhook.test ? (
              <>
                <dt>Test event</dt>
                <dd>Yes: an example sent with Send test event</dd>
              </>
            ) : null}
            <dt>Unique key</dt>
            <dd>
              <code>{webhook.unique_key}</code>
            </dd>
            <dt>Time</dt>
            <dd>{formatTime(webhook.created_at)}</dd>
            <dt>Webhook URL</dt>
            <dd>
              <code class="url">{webhook.webhook_url}</code>
            </dd>
            <dt>Response code</dt>
            <dd>{httpText(webhook)}</dd>
            <dt>Retries</dt>
            <dd>{webhook.retries}</dd>
            {webhook.next_attempt_at && !settled(webhook.status) ? (
              <>
                <dt>Next attempt</dt>
                <dd>{formatTime(webhook.next_attempt_at)}</dd>
              </>
            ) : null}
          </dl>
          {webhook.status === 'failed' ? (
            <p>
              <button type="button" onClick={() => void redeliver('retry')}>
                Retry
              </button>
            </p>
          ) : null}
          {webhook.status === 'succeeded' ? (
            <p>
              <button type="button" class="secondary" onClick={() => void redeliver('resend')}>
                Resend
              </button>{' '}
              <span class="hint">Delivers it again with the same unique key, as a new round of attempts.</span>
            </p>
          ) : null}
          <p role="status">{resent ? 'Resent: a new round of attempts under the same unique key.' : ''}</p>
          <ErrorMessage error={retryError} />
          <h3>Attempts</h3>
          {webhook.attempts.length ? (
            <table class="attempts">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Time</th>
                  <th scope="col">HTTP status or error</th>
                  <th scope="col">Duration</th>
                </tr>
              </thead>
              <tbody>
                {webhook.attempts.map((a) => (
                  <tr key={a.number}>
                    <td>{a.number}</td>
                    <td>{formatTime(a.at)}</td>
                    <td>{a.http_status ?? a.error ?? '—'}</td>
                    <td>{a.duration_ms === null ? '—' : `${a.duration_ms} ms`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="hint">No attempt yet.</p>
          )}
          {webhook.status === 'failed' && (webhook.response || webhook.error) ? (
            <>
              <h3>Error response</h3>
              <pre class="code" tabIndex={0}>
                {[webhook.error, webhook.response].filter(Boolean).join('\n\n')}
              </pre>
            </>
          ) : null}
          <div class="section-head">
            <h3>Payload</h3>
            <CopyButton text={JSON.stringify(webhook.payload, null, 2)} />
          </div>
          <pre class="code" tabIndex={0} aria-label="Payload">
            {JSON.stringify(webhook.payload, null, 2)}
          </pre>
        </div>
      ) : null}
    </Dialog>
  );
}

export function Deliveries({ api, endpoint, route }: { api: Api; endpoint: Endpoint; route: Route }) {
  const [items, setItems] = useState<Webhook[]>();
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(false);
  const [recent, setRecent] = useState<Webhook[]>();
  const [recentError, setRecentError] = useState<unknown>();
  const [tick, setTick] = useState(0);
  const filterKey = JSON.stringify(route.filters);
  type Page = { webhooks: Webhook[]; meta: { next_cursor: string | null } };

  useEffect(() => {
    let current = true;
    setLoading(true);
    api<Page>('GET', webhookListQuery(endpoint.lago_id, route.filters, PAGE_SIZE)).then(
      (r) => {
        if (!current) return;
        setItems(r.webhooks);
        setCursor(r.meta.next_cursor);
        setError(undefined);
        setLoading(false);
      },
      (e: unknown) => {
        if (!current) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => void (current = false);
  }, [api, endpoint.lago_id, filterKey, tick]);

  useEffect(() => {
    api<Page>('GET', webhookListQuery(endpoint.lago_id, NO_FILTERS, 100)).then((r) => {
      setRecent(r.webhooks);
      setRecentError(undefined);
    }, setRecentError);
  }, [api, endpoint.lago_id, tick]);

  const more = async () => {
    if (!cursor) return;
    setLoading(true);
    try {
      const r = await api<Page>('GET', webhookListQuery(endpoint.lago_id, route.filters, PAGE_SIZE, cursor));
      setItems([...(items ?? []), ...r.webhooks]);
      setCursor(r.meta.next_cursor);
    } catch (e) {
      setError(e);
    }
    setLoading(false);
  };
  const open = (id: string | undefined) => go({ ...route, webhookId: id });
  const changed = (webhook: Webhook) =>
    setItems((list) => list?.map((w) => (w.lago_id === webhook.lago_id ? { ...w, ...webhook } : w)));

  return (
    <>
      <HealthStrip items={recent} error={recentError} />
      <section class="card" aria-labelledby="log-title">
        <h2 id="log-title">Deliveries</h2>
        <Toolbar api={api} route={route} onRefresh={() => setTick((n) => n + 1)} />
        <ErrorMessage error={error} />
        <p class="hint" role="status">
          {loading
            ? 'Loading…'
            : items
              ? `${items.length} webhook${items.length === 1 ? '' : 's'} shown${cursor ? ', more available' : ''}`
              : ''}
        </p>
        {items?.length ? (
          <ul class="deliveries" aria-label="Webhooks, newest first">
            {items.map((w) => (
              <li key={w.lago_id}>
                <button type="button" class="delivery" onClick={() => open(w.lago_id)}>
                  <Status status={w.status} />
                  <span class="type">
                    <code>{w.webhook_type}</code>
                    {w.test ? <span class="tag"> test</span> : null}
                  </span>
                  <span class="http">
                    <span class="sr-only">HTTP status </span>
                    {httpText(w)}
                  </span>
                  <time dateTime={w.created_at}>{formatTime(w.created_at)}</time>
                </button>
              </li>
            ))}
          </ul>
        ) : items ? (
          <p class="hint">No webhook matches.</p>
        ) : null}
        {cursor ? (
          <button type="button" class="secondary" disabled={loading} onClick={more}>
            Load more
          </button>
        ) : null}
      </section>
      <Recover api={api} endpoint={endpoint} />
      {route.webhookId ? (
        <DetailPanel
          key={route.webhookId}
          api={api}
          id={route.webhookId}
          onClose={() => open(undefined)}
          onChange={changed}
        />
      ) : null}
    </>
  );
}
