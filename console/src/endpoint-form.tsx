import { useMemo, useState } from 'preact/hooks';
import {
  ApiError,
  endpointPath,
  type Endpoint,
  type EndpointRequest,
  type EndpointResponse,
  type EventType,
} from './api.ts';
import { useApiClient, useSubmit } from './hooks.ts';
import { Dialog, ErrorMessage, useEventTypes } from './ui.tsx';

/** The form that adds a webhook endpoint or edits one, with the server's validation codes next to their field. */

const CODES: Record<string, string> = {
  url_is_invalid: 'Enter a valid http(s) URL.',
  value_already_exist: 'This URL is already used by another webhook.',
  address_is_not_public: 'This address is not public; webhooks are only sent to public addresses.',
  address_is_this_service: "This is one of the service's own ports; webhooks are never sent there.",
  url_must_use_https: 'The URL must use https.',
  value_is_mandatory: 'This field is required.',
  value_is_invalid: 'This value is invalid.',
};

type Algo = Endpoint['signature_algo'];
type FieldErrors = Record<string, string[] | undefined>;

interface Draft {
  url: string;
  name: string;
  algo: Algo;
  all: boolean;
  selected: ReadonlySet<string>;
  /** The most attempts a second, as typed; blank: no limit. */
  maxRps: string;
}

const draftOf = (endpoint: Endpoint | undefined): Draft => ({
  url: endpoint?.webhook_url ?? '',
  name: endpoint?.name ?? '',
  algo: endpoint?.signature_algo ?? 'jwt',
  all: endpoint ? endpoint.event_types === null : true,
  selected: new Set(endpoint?.event_types ?? []),
  maxRps: endpoint?.max_rps ? String(endpoint.max_rps) : '',
});

const requestOf = (draft: Draft): EndpointRequest => ({
  webhook_endpoint: {
    webhook_url: draft.url.trim(),
    name: draft.name.trim() || null,
    signature_algo: draft.algo,
    event_types: draft.all ? null : [...draft.selected],
    max_rps: draft.maxRps.trim() === '' ? null : Number(draft.maxRps.trim()),
  },
});

/** A whole number of attempts a second, or blank; anything else is refused here as the API would. */
const maxRpsValid = (raw: string) => raw.trim() === '' || /^[1-9]\d*$/.test(raw.trim());

/** The attributes that tie a field to its error message. */
const described = (errors: FieldErrors, field: string) =>
  errors[field]?.length ? { 'aria-describedby': `${field}-error`, 'aria-invalid': true } : {};

function FieldError({ field, errors }: { field: string; errors: FieldErrors }) {
  const codes = errors[field];
  if (!codes?.length) return null;
  return (
    <p class="error" id={`${field}-error`}>
      {codes.map((code) => (CODES[code] ? `${CODES[code]} (${code})` : code)).join(' ')}
    </p>
  );
}

function SignatureField({ algo, onChange, errors }: { algo: Algo; onChange: (a: Algo) => void; errors: FieldErrors }) {
  return (
    <fieldset {...described(errors, 'signature_algo')}>
      <legend>Signature</legend>
      {(['hmac', 'jwt'] as const).map((value) => (
        <label class="inline" key={value}>
          <input
            type="radio"
            name="signature"
            value={value}
            checked={algo === value}
            onChange={() => onChange(value)}
          />{' '}
          {value.toUpperCase()}
        </label>
      ))}
      <FieldError field="signature_algo" errors={errors} />
    </fieldset>
  );
}

/** The catalog by category, narrowed by a search over key, name and description. */
function EventPicker({
  selected,
  onChange,
}: {
  selected: ReadonlySet<string>;
  onChange: (selected: ReadonlySet<string>) => void;
}) {
  const { types, error } = useEventTypes();
  const [search, setSearch] = useState('');
  const groups = useMemo(() => {
    const term = search.trim().toLowerCase();
    const byCategory = new Map<string, EventType[]>();
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
    onChange(next);
  };
  return (
    <>
      <div class="search-events">
        <label for="event-search">Search events</label>
        <input id="event-search" type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
      </div>
      <p class="hint" role="status">
        {selected.size} selected
      </p>
      <ErrorMessage error={error} />
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
  );
}

function EventsField({
  draft,
  edit,
  errors,
}: {
  draft: Draft;
  edit: (d: Partial<Draft>) => void;
  errors: FieldErrors;
}) {
  return (
    <fieldset class="events" {...described(errors, 'event_types')}>
      <legend>Events</legend>
      <label class="inline">
        <input type="checkbox" checked={draft.all} onChange={(e) => edit({ all: e.currentTarget.checked })} /> Listen to
        all events
      </label>
      <FieldError field="event_types" errors={errors} />
      {draft.all ? (
        <p class="hint">Every event type, including types added later.</p>
      ) : (
        <EventPicker selected={draft.selected} onChange={(selected) => edit({ selected })} />
      )}
    </fieldset>
  );
}

export function EndpointForm({
  endpoint,
  onSaved,
  onClose,
}: {
  endpoint?: Endpoint;
  onSaved: (endpoint: Endpoint) => void;
  onClose: () => void;
}) {
  const api = useApiClient();
  const [draft, setDraft] = useState(() => draftOf(endpoint));
  // Fields corrected since the server refused them no longer carry its complaint.
  const [corrected, setCorrected] = useState<ReadonlySet<string>>(new Set());
  const [badRate, setBadRate] = useState(false);
  const save = useSubmit(
    (signal, body: EndpointRequest) =>
      endpoint
        ? api<EndpointResponse>('PUT', endpointPath(endpoint.lago_id), { body, signal })
        : api<EndpointResponse>('POST', '/api/v1/webhook_endpoints', { body, signal }),
    { onDone: (saved) => onSaved(saved.webhook_endpoint) },
  );
  const refused = save.error instanceof ApiError && save.error.status === 422 ? save.error.details : undefined;
  const errors: FieldErrors = {
    ...Object.fromEntries(Object.entries(refused ?? {}).filter(([field]) => !corrected.has(field))),
    ...(badRate ? { max_rps: ['value_is_invalid'] } : {}),
  };
  const edit = (change: Partial<Draft>) => setDraft((d) => ({ ...d, ...change }));
  const submit = (event: Event) => {
    event.preventDefault();
    setCorrected(new Set());
    const rateOk = maxRpsValid(draft.maxRps);
    setBadRate(!rateOk);
    if (rateOk) void save.run(requestOf(draft));
  };
  return (
    <Dialog title={endpoint ? 'Edit webhook' : 'Add a webhook'} onClose={onClose} wide>
      <form class="endpoint-form" onSubmit={submit} noValidate>
        {errors.base?.length ? (
          <p class="error" role="alert">
            {errors.base.join(' ')}
          </p>
        ) : null}
        <ErrorMessage error={refused ? undefined : save.error} />
        <label for="webhook-url">Webhook URL</label>
        <input
          id="webhook-url"
          type="url"
          placeholder="https://example.com/webhooks"
          value={draft.url}
          onInput={(e) => {
            edit({ url: e.currentTarget.value });
            setCorrected((fields) => new Set(fields).add('webhook_url'));
          }}
          {...described(errors, 'webhook_url')}
        />
        <FieldError field="webhook_url" errors={errors} />
        <label for="webhook-name">Name</label>
        <input
          id="webhook-name"
          type="text"
          value={draft.name}
          onInput={(e) => edit({ name: e.currentTarget.value })}
          {...described(errors, 'name')}
        />
        <FieldError field="name" errors={errors} />
        <SignatureField algo={draft.algo} onChange={(algo) => edit({ algo })} errors={errors} />
        <EventsField draft={draft} edit={edit} errors={errors} />
        <label for="max-rps">Rate limit (attempts a second)</label>
        <input
          id="max-rps"
          type="text"
          inputMode="numeric"
          placeholder="No limit"
          value={draft.maxRps}
          onInput={(e) => {
            edit({ maxRps: e.currentTarget.value });
            setBadRate(false);
            setCorrected((fields) => new Set(fields).add('max_rps'));
          }}
          {...described(errors, 'max_rps')}
        />
        <p class="hint">1 to 10,000, kept across every sender; blank for no limit.</p>
        <FieldError field="max_rps" errors={errors} />
        <div class="actions">
          <button type="button" class="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={save.busy}>
            {endpoint ? 'Save webhook' : 'Add webhook'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
