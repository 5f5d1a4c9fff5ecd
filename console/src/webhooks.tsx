import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, type Api, type Endpoint, type HmacKey } from './api.ts';
import { ConfirmDialog, CopyButton, Dialog, ErrorMessage, formatTime, useEventTypes } from './ui.tsx';

/** Lago's Developers › Webhooks: the endpoints, the HMAC token and the JWT public key. */

export const listening = (endpoint: Endpoint) =>
  endpoint.event_types === null
    ? 'Listening to all events'
    : `Listening to ${endpoint.event_types.length} event${endpoint.event_types.length === 1 ? '' : 's'}`;

const CODES: Record<string, string> = {
  url_is_invalid: 'Enter a valid http(s) URL.',
  value_already_exist: 'This URL is already used by another webhook.',
  address_is_not_public: 'This address is not public; webhooks are only sent to public addresses.',
  url_must_use_https: 'The URL must use https.',
  value_is_mandatory: 'This field is required.',
  value_is_invalid: 'This value is invalid.',
};

function FieldError({ id, codes }: { id: string; codes: string[] | undefined }) {
  if (!codes?.length) return null;
  return (
    <p class="error" id={id}>
      {codes.map((code) => (CODES[code] ? `${CODES[code]} (${code})` : code)).join(' ')}
    </p>
  );
}

function EndpointForm({
  api,
  endpoint,
  onSaved,
  onClose,
}: {
  api: Api;
  endpoint?: Endpoint;
  onSaved: (endpoint: Endpoint) => void;
  onClose: () => void;
}) {
  const { types, error: catalogError } = useEventTypes(api);
  const [url, setUrl] = useState(endpoint?.webhook_url ?? '');
  const [name, setName] = useState(endpoint?.name ?? '');
  const [algo, setAlgo] = useState<'hmac' | 'jwt'>(endpoint?.signature_algo ?? 'jwt');
  const [all, setAll] = useState(endpoint ? endpoint.event_types === null : true);
  const [selected, setSelected] = useState(() => new Set(endpoint?.event_types ?? []));
  const [search, setSearch] = useState('');
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const groups = useMemo(() => {
    const term = search.trim().toLowerCase();
    const byCategory = new Map<string, typeof types>();
    for (const type of types) {
      if (term && !`${type.key} ${type.name} ${type.description}`.toLowerCase().includes(term)) continue;
      byCategory.set(type.category, [...(byCategory.get(type.category) ?? []), type]);
    }
    return [...byCategory];
  }, [types, search]);

  const toggle = (key: string, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(key);
    else next.delete(key);
    setSelected(next);
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    setFailure(undefined);
    const body = {
      webhook_endpoint: {
        webhook_url: url.trim(),
        name: name.trim() || null,
        signature_algo: algo,
        event_types: all ? null : [...selected],
      },
    };
    try {
      const saved = endpoint
        ? await api<{ webhook_endpoint: Endpoint }>(
            'PUT',
            `/api/v1/webhook_endpoints/${encodeURIComponent(endpoint.lago_id)}`,
            body,
          )
        : await api<{ webhook_endpoint: Endpoint }>('POST', '/api/v1/webhook_endpoints', body);
      onSaved(saved.webhook_endpoint);
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) setErrors(e.details);
      else setFailure(e);
      setBusy(false);
    }
  };

  const described = (field: string) =>
    errors[field]?.length ? { 'aria-describedby': `${field}-error`, 'aria-invalid': true } : {};
  return (
    <Dialog title={endpoint ? 'Edit webhook' : 'Add a webhook'} onClose={onClose} wide>
      <form class="endpoint-form" onSubmit={submit} noValidate>
        {errors.base?.length ? (
          <p class="error" role="alert">
            {errors.base.join(' ')}
          </p>
        ) : null}
        <ErrorMessage error={failure} />
        <label for="webhook-url">Webhook URL</label>
        <input
          id="webhook-url"
          type="url"
          placeholder="https://example.com/webhooks"
          value={url}
          onInput={(e) => {
            setUrl(e.currentTarget.value);
            // A corrected URL no longer carries the server's complaint about the old one.
            setErrors(({ webhook_url: _, ...rest }) => rest);
          }}
          {...described('webhook_url')}
        />
        <FieldError id="webhook_url-error" codes={errors.webhook_url} />
        <label for="webhook-name">Name</label>
        <input
          id="webhook-name"
          type="text"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
          {...described('name')}
        />
        <FieldError id="name-error" codes={errors.name} />
        <fieldset {...described('signature_algo')}>
          <legend>Signature</legend>
          <label class="inline">
            <input
              type="radio"
              name="signature"
              value="hmac"
              checked={algo === 'hmac'}
              onChange={() => setAlgo('hmac')}
            />{' '}
            HMAC
          </label>
          <label class="inline">
            <input type="radio" name="signature" value="jwt" checked={algo === 'jwt'} onChange={() => setAlgo('jwt')} />{' '}
            JWT
          </label>
          <FieldError id="signature_algo-error" codes={errors.signature_algo} />
        </fieldset>
        <fieldset class="events" {...described('event_types')}>
          <legend>Events</legend>
          <label class="inline">
            <input type="checkbox" checked={all} onChange={(e) => setAll(e.currentTarget.checked)} /> Listen to all
            events
          </label>
          <FieldError id="event_types-error" codes={errors.event_types} />
          {all ? (
            <p class="hint">Every event type, including types added later.</p>
          ) : (
            <>
              <div class="search-events">
                <label for="event-search">Search events</label>
                <input
                  id="event-search"
                  type="search"
                  value={search}
                  onInput={(e) => setSearch(e.currentTarget.value)}
                />
              </div>
              <p class="hint" role="status">
                {selected.size} selected
              </p>
              <ErrorMessage error={catalogError} />
              <div class="catalog">
                {groups.map(([category, list]) => (
                  <fieldset key={category}>
                    <legend>{category.replaceAll('_', ' ')}</legend>
                    {list.map((type) => (
                      <label class="event" key={type.key}>
                        <input
                          type="checkbox"
                          checked={selected.has(type.key)}
                          onChange={(e) => toggle(type.key, e.currentTarget.checked)}
                        />
                        <span>
                          <code>{type.key}</code>
                          <span class="hint">{type.description}</span>
                        </span>
                      </label>
                    ))}
                  </fieldset>
                ))}
                {groups.length === 0 && types.length > 0 ? <p class="hint">No event type matches.</p> : null}
              </div>
            </>
          )}
        </fieldset>
        <div class="actions">
          <button type="button" class="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {endpoint ? 'Save webhook' : 'Add webhook'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function HmacToken({ api }: { api: Api }) {
  const [key, setKey] = useState<HmacKey>();
  const [error, setError] = useState<unknown>();
  const [revealed, setRevealed] = useState(false);
  const [rotating, setRotating] = useState(false);
  const [rotated, setRotated] = useState(false);
  useEffect(() => {
    api<{ webhook: HmacKey }>('GET', '/api/v1/webhooks/hmac_key').then((r) => setKey(r.webhook), setError);
  }, [api]);
  const token = key?.hmac_key;
  return (
    <section class="card" aria-labelledby="hmac-title">
      <div class="section-head">
        <h2 id="hmac-title">HMAC signature token</h2>
        {token ? (
          <button type="button" class="secondary" onClick={() => setRotating(true)}>
            Rotate
          </button>
        ) : null}
      </div>
      <p class="hint">Receivers of HMAC-signed webhooks check the X-Lago-Signature header with this token.</p>
      <ErrorMessage error={error} />
      {token ? (
        <div class="secret">
          <code data-testid="hmac-token">{revealed ? token : '•'.repeat(24)}</code>
          <button type="button" class="secondary" onClick={() => setRevealed(!revealed)}>
            {revealed ? 'Hide' : 'Reveal'}
          </button>
          <CopyButton text={token} />
        </div>
      ) : null}
      {rotated ? <p role="status">New token created. X-Lago-Signature now uses it.</p> : null}
      {key?.previous_expires_at ? (
        <p class="hint" data-testid="previous-expiry">
          The previous token still signs the webhook-signature header until {formatTime(key.previous_expires_at)}: move
          receivers to the new token before then.
        </p>
      ) : null}
      {rotating ? (
        <ConfirmDialog
          title="Rotate HMAC token"
          message="Rotate the HMAC token? X-Lago-Signature switches to a new token at once. For 24 hours the webhook-signature header carries signatures from both tokens, so receivers that verify it can move over without a failed check."
          confirm="Rotate token"
          onClose={() => setRotating(false)}
          onConfirm={async () => {
            const r = await api<{ webhook: HmacKey }>('POST', '/api/v1/webhooks/hmac_key/rotate', {});
            setKey(r.webhook);
            // The new token is what the user came for: shown at once.
            setRevealed(true);
            setRotated(true);
            setRotating(false);
          }}
        />
      ) : null}
    </section>
  );
}

function JwtPublicKey({ api }: { api: Api }) {
  const [key, setKey] = useState<string>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    api<{ webhook: { public_key: string } }>('GET', '/api/v1/webhooks/json_public_key').then(
      (r) => setKey(r.webhook.public_key),
      setError,
    );
  }, [api]);
  return (
    <section class="card" aria-labelledby="jwt-title">
      <h2 id="jwt-title">JWT public key</h2>
      <p class="hint">
        Receivers of JWT-signed webhooks verify the X-Lago-Signature token with this key (base64 of the PEM).
      </p>
      <ErrorMessage error={error} />
      {key ? (
        <>
          <pre class="key" tabIndex={0}>
            {key}
          </pre>
          <CopyButton text={key} />
        </>
      ) : null}
    </section>
  );
}

/** Edit and delete, shared by the list and the endpoint page. */
export function EndpointActions({
  api,
  endpoint,
  onChanged,
  onDeleted,
}: {
  api: Api;
  endpoint: Endpoint;
  onChanged: (endpoint: Endpoint) => void;
  onDeleted: () => void;
}) {
  const [dialog, setDialog] = useState<'edit' | 'delete' | null>(null);
  const label = endpoint.name || endpoint.webhook_url;
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
          api={api}
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
          message={`Delete the webhook ${label}? It stops receiving events; its delivery log stays readable.`}
          confirm="Delete webhook"
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            await api('DELETE', `/api/v1/webhook_endpoints/${encodeURIComponent(endpoint.lago_id)}`);
            setDialog(null);
            onDeleted();
          }}
        />
      ) : null}
    </span>
  );
}

export function WebhooksPage({ api }: { api: Api }) {
  const [endpoints, setEndpoints] = useState<Endpoint[]>();
  const [error, setError] = useState<unknown>();
  const [adding, setAdding] = useState(false);
  const load = () =>
    api<{ webhook_endpoints: Endpoint[] }>('GET', '/api/v1/webhook_endpoints?per_page=100').then(
      (r) => {
        setEndpoints(r.webhook_endpoints);
        setError(undefined);
      },
      (e: unknown) => setError(e),
    );
  useEffect(() => {
    void load();
  }, [api]);
  return (
    <>
      <h1>Webhooks</h1>
      <section class="card" aria-labelledby="endpoints-title">
        <div class="section-head">
          <h2 id="endpoints-title">Webhook endpoints</h2>
          <button type="button" onClick={() => setAdding(true)}>
            Add a webhook
          </button>
        </div>
        <ErrorMessage error={error} />
        {endpoints && endpoints.length === 0 ? (
          <p class="hint">No webhook yet. Add one to receive Lago's events.</p>
        ) : null}
        {endpoints?.length ? (
          <ul class="endpoints">
            {endpoints.map((endpoint) => (
              <li key={endpoint.lago_id}>
                <a class="endpoint-link" href={`#/endpoints/${encodeURIComponent(endpoint.lago_id)}`}>
                  <strong>{endpoint.name || endpoint.webhook_url}</strong>
                  <span class="url">{endpoint.webhook_url}</span>
                  <span class="hint">
                    {listening(endpoint)} · {endpoint.signature_algo.toUpperCase()}
                  </span>
                </a>
                <EndpointActions
                  api={api}
                  endpoint={endpoint}
                  onChanged={() => void load()}
                  onDeleted={() => void load()}
                />
              </li>
            ))}
          </ul>
        ) : null}
      </section>
      <HmacToken api={api} />
      <JwtPublicKey api={api} />
      {adding ? (
        <EndpointForm
          api={api}
          onClose={() => setAdding(false)}
          onSaved={() => {
            setAdding(false);
            void load();
          }}
        />
      ) : null}
    </>
  );
}
