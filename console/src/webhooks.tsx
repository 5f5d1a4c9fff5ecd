import { useState } from 'preact/hooks';
import { endpointPath, type Endpoint, type EndpointList, type EndpointResponse } from './api.ts';
import { EndpointForm } from './endpoint-form.tsx';
import { useApi, useApiClient } from './hooks.ts';
import { HmacToken, JwtPublicKey } from './keys.tsx';
import { useCanManage } from './session.ts';
import { ConfirmDialog, ErrorMessage, useDocumentTitle, ViewHeading } from './ui.tsx';

/** Lago's Developers › Webhooks: the endpoints, the HMAC token and the JWT public key. */

export const listening = (endpoint: Endpoint) =>
  endpoint.event_types === null
    ? 'Listening to all events'
    : `Listening to ${endpoint.event_types.length} event${endpoint.event_types.length === 1 ? '' : 's'}`;

/** Edit and delete, shared by the list and the endpoint page; none for a viewer. */
export function EndpointActions({
  endpoint,
  onChanged,
  onDeleted,
}: {
  endpoint: Endpoint;
  onChanged: (endpoint: Endpoint) => void;
  onDeleted: () => void;
}) {
  const api = useApiClient();
  const canManage = useCanManage();
  const [dialog, setDialog] = useState<'edit' | 'delete' | null>(null);
  const label = endpoint.name || endpoint.webhook_url;
  if (!canManage) return null;
  return (
    <span class="row-actions">
      <button type="button" class="secondary" onClick={() => setDialog('edit')}>
        Edit
      </button>
      <button type="button" class="secondary danger-text" onClick={() => setDialog('delete')}>
        Delete
      </button>
      {dialog === 'edit' ? (
        <EndpointForm
          endpoint={endpoint}
          onClose={() => setDialog(null)}
          onSaved={(saved) => {
            setDialog(null);
            onChanged(saved);
          }}
        />
      ) : null}
      {dialog === 'delete' ? (
        <ConfirmDialog
          title="Delete webhook"
          confirm="Delete webhook"
          onClose={() => setDialog(null)}
          action={(signal) => api<EndpointResponse>('DELETE', endpointPath(endpoint.lago_id), { signal })}
          onDone={() => {
            setDialog(null);
            onDeleted();
          }}
        >
          <p>Delete the webhook {label}? It stops receiving events; its delivery log stays readable.</p>
        </ConfirmDialog>
      ) : null}
    </span>
  );
}

function EndpointItem({ endpoint, onChanged }: { endpoint: Endpoint; onChanged: () => void }) {
  return (
    <li>
      <a class="endpoint-link" href={`#/endpoints/${encodeURIComponent(endpoint.lago_id)}`}>
        <strong>{endpoint.name || endpoint.webhook_url}</strong>
        <span class="url">{endpoint.webhook_url}</span>
        <span class="hint">
          {listening(endpoint)} · {endpoint.signature_algo.toUpperCase()}
        </span>
      </a>
      <EndpointActions endpoint={endpoint} onChanged={onChanged} onDeleted={onChanged} />
    </li>
  );
}

export function WebhooksPage() {
  const list = useApi<EndpointList>('/api/v1/webhook_endpoints?per_page=100');
  const canManage = useCanManage();
  const [adding, setAdding] = useState(false);
  const endpoints = list.data?.webhook_endpoints;
  useDocumentTitle('Webhooks');
  return (
    <>
      <ViewHeading>Webhooks</ViewHeading>
      <section class="card" aria-labelledby="endpoints-title">
        <div class="section-head">
          <h2 id="endpoints-title">Webhook endpoints</h2>
          {canManage ? (
            <button type="button" onClick={() => setAdding(true)}>
              Add a webhook
            </button>
          ) : null}
        </div>
        <ErrorMessage error={list.error} />
        {endpoints && endpoints.length === 0 ? (
          <p class="hint">No webhook yet. Add one to receive Lago's events.</p>
        ) : null}
        {endpoints?.length ? (
          <ul class="endpoints">
            {endpoints.map((endpoint) => (
              <EndpointItem key={endpoint.lago_id} endpoint={endpoint} onChanged={list.reload} />
            ))}
          </ul>
        ) : null}
      </section>
      {/* A viewer never sees the HMAC token (the server answers it 403). */}
      {canManage ? <HmacToken /> : null}
      <JwtPublicKey />
      {adding ? (
        <EndpointForm
          onClose={() => setAdding(false)}
          onSaved={() => {
            setAdding(false);
            list.reload();
          }}
        />
      ) : null}
    </>
  );
}
