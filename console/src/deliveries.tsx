import type { TargetedSubmitEvent } from 'preact';
import { useCallback, useState } from 'preact/hooks';
import {
  NO_FILTERS,
  webhookListQuery,
  type Endpoint,
  type RecoverRequest,
  type RecoverResult,
  type Webhook,
  type WebhookFilters,
  type WebhookList,
} from './api.ts';
import { useApi, useApiClient, useSubmit } from './hooks.ts';
import { useCanManage } from './session.ts';
import { go, type Route } from './route.ts';
import { ErrorMessage, formatTime, useEventTypes } from './ui.tsx';
import { DetailPanel, responseText, Status } from './webhook-detail.tsx';

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

function FilterSelect({
  id,
  label,
  any,
  options,
  value,
  onChange,
}: {
  id: string;
  label: string;
  any: string;
  options: readonly string[];
  value: string;
  onChange: (value: string) => void;
}) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">{any}</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </div>
  );
}

/** The filters live in the URL: every change is a navigation, so a filtered view can be bookmarked. */
function Toolbar({ route, onRefresh }: { route: Route; onRefresh: () => void }) {
  const { types, error: catalogError } = useEventTypes();
  const { filters } = route;
  const set = (change: Partial<WebhookFilters>) =>
    go({ ...route, webhookId: undefined, filters: { ...filters, ...change } });
  const search = (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    set({ q: String(form.get('q') ?? '').trim() });
  };
  return (
    <form class="toolbar" role="search" onSubmit={search}>
      <div class="field grow">
        <label for="log-search">Search</label>
        {/* Keyed by the URL's term: a term changed elsewhere (Clear filters, a bookmark) replaces what was typed. */}
        <input
          key={filters.q}
          id="log-search"
          name="q"
          type="search"
          placeholder="Webhook id or object id"
          defaultValue={filters.q}
        />
      </div>
      <FilterSelect
        id="log-status"
        label="Status"
        any="Any status"
        options={STATUSES}
        value={filters.status}
        onChange={(status) => set({ status })}
      />
      <FilterSelect
        id="log-type"
        label="Event type"
        any="Any event type"
        options={types.map((t) => t.key)}
        value={filters.type}
        onChange={(type) => set({ type })}
      />
      <FilterSelect
        id="log-http"
        label="HTTP status"
        any="Any HTTP status"
        options={HTTP_FILTERS}
        value={filters.http}
        onChange={(http) => set({ http })}
      />
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
        <button type="button" class="secondary" onClick={() => set({ ...NO_FILTERS })}>
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

const recovered = (r: RecoverResult) =>
  `${r.recovered} failed webhook${r.recovered === 1 ? '' : 's'} queued again.${r.has_more ? ' More remain in this window: click Recover again.' : ''}`;

function Recover({ endpoint }: { endpoint: Endpoint }) {
  const api = useApiClient();
  const [today] = useState(() => new Date().toISOString().slice(0, 10));
  const [from, setFrom] = useState(today);
  const [to, setTo] = useState(today);
  const recover = useSubmit((signal, body: RecoverRequest) =>
    api<RecoverResult>('POST', '/api/v1/webhooks/recover', { body, signal }),
  );
  const submit = (event: Event) => {
    event.preventDefault();
    void recover.run({ webhook_endpoint_id: endpoint.lago_id, from_date: from, to_date: to });
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
          <button type="submit" disabled={recover.busy}>
            Recover
          </button>
        </div>
      </form>
      <p role="status">{recover.result ? recovered(recover.result) : undefined}</p>
      <ErrorMessage error={recover.error} />
    </section>
  );
}

function DeliveryRow({ webhook: w, onOpen }: { webhook: Webhook; onOpen: (id: string) => void }) {
  return (
    <li>
      <button type="button" class="delivery" onClick={() => onOpen(w.lago_id)}>
        <Status status={w.status} />
        <span class="type">
          <code>{w.webhook_type}</code>
          {w.test ? <span class="tag"> test</span> : null}
        </span>
        <span class="http">
          <span class="sr-only">Response </span>
          {responseText(w)}
        </span>
        <time dateTime={w.created_at}>{formatTime(w.created_at)}</time>
      </button>
    </li>
  );
}

/** Pages after the first, loaded with Load more; they belong to the first page they followed. */
interface MorePages {
  after: WebhookList;
  webhooks: Webhook[];
  cursor: string | null;
}

/** The list: its first page, the pages Load more added, and the latest copy of each webhook the panel read. */
function useDeliveryList(endpoint: Endpoint, filters: WebhookFilters) {
  const api = useApiClient();
  const first = useApi<WebhookList>(webhookListQuery(endpoint.lago_id, filters, PAGE_SIZE));
  const [more, setMore] = useState<MorePages>();
  const [latest, setLatest] = useState<ReadonlyMap<string, Webhook>>(new Map());
  const pages = more && more.after === first.data ? more : undefined;
  const loadMore = useSubmit(
    (signal, cursor: string) =>
      api<WebhookList>('GET', webhookListQuery(endpoint.lago_id, filters, PAGE_SIZE, cursor), { signal }),
    {
      // A page asked for under other filters, or before a Refresh, is out of date.
      scope: first.data,
      onDone: (page) => {
        if (first.data)
          setMore({
            after: first.data,
            webhooks: [...(pages?.webhooks ?? []), ...page.webhooks],
            cursor: page.meta.next_cursor,
          });
      },
    },
  );
  const items = first.data
    ? [...first.data.webhooks, ...(pages?.webhooks ?? [])].map((w) => {
        const read = latest.get(w.lago_id);
        return read && read.updated_at > w.updated_at ? read : w;
      })
    : undefined;
  const cursor = pages ? pages.cursor : (first.data?.meta.next_cursor ?? null);
  const seen = useCallback((w: Webhook) => setLatest((m) => new Map(m).set(w.lago_id, w)), []);
  return { first, items, cursor, loadMore, seen };
}

export function Deliveries({ endpoint, route }: { endpoint: Endpoint; route: Route }) {
  const { first, items, cursor, loadMore, seen } = useDeliveryList(endpoint, route.filters);
  const recent = useApi<WebhookList>(webhookListQuery(endpoint.lago_id, NO_FILTERS, 100));
  const canManage = useCanManage();
  const loading = first.loading || loadMore.busy;
  const open = (id: string | undefined) => go({ ...route, webhookId: id });
  const refresh = () => {
    first.reload();
    recent.reload();
  };
  return (
    <>
      <HealthStrip items={recent.data?.webhooks} error={recent.error} />
      <section class="card" aria-labelledby="log-title">
        <h2 id="log-title">Deliveries</h2>
        <Toolbar route={route} onRefresh={refresh} />
        <ErrorMessage error={first.error ?? loadMore.error} />
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
              <DeliveryRow key={w.lago_id} webhook={w} onOpen={open} />
            ))}
          </ul>
        ) : items ? (
          <p class="hint">No webhook matches.</p>
        ) : null}
        {cursor ? (
          <button type="button" class="secondary" disabled={loading} onClick={() => void loadMore.run(cursor)}>
            Load more
          </button>
        ) : null}
      </section>
      {canManage ? <Recover endpoint={endpoint} /> : null}
      {route.webhookId ? (
        <DetailPanel key={route.webhookId} id={route.webhookId} onClose={() => open(undefined)} onChange={seen} />
      ) : null}
    </>
  );
}
