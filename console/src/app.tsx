import { useMemo, useState } from 'preact/hooks';
import { ApiError, createApi } from './api.ts';
import { EndpointPage } from './endpoint.tsx';
import { useRoute } from './route.ts';
import { ErrorMessage } from './ui.tsx';
import { WebhooksPage } from './webhooks.tsx';

/** The key lives in this tab's sessionStorage only: never in the URL, localStorage or a log. */
const SESSION_KEY = 'lago-console-api-key';

function SignIn({ onSignedIn }: { onSignedIn: (key: string) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const candidate = key.trim();
    if (!candidate) return setError(new Error('Enter your organization API key.'));
    setBusy(true);
    setError(undefined);
    try {
      // Any organization route tells a good key from a bad one.
      await createApi(candidate)('GET', '/api/v1/webhook_endpoints?per_page=1');
      onSignedIn(candidate);
    } catch (e) {
      setError(
        e instanceof ApiError && e.status === 401
          ? new Error('This organization API key was not accepted. Check the key and try again.')
          : e,
      );
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>Lago webhooks</h1>
      <p>Sign in with your organization's API key to manage its webhook endpoints and deliveries.</p>
      <form onSubmit={submit} noValidate>
        <label for="api-key">Organization API key</label>
        <input
          id="api-key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
        />
        <ErrorMessage error={error} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

export function App() {
  const [key, setKey] = useState(() => sessionStorage.getItem(SESSION_KEY));
  const route = useRoute();
  const api = useMemo(() => (key ? createApi(key) : undefined), [key]);
  if (!api)
    return (
      <SignIn
        onSignedIn={(k) => {
          sessionStorage.setItem(SESSION_KEY, k);
          setKey(k);
        }}
      />
    );
  const signOut = () => {
    sessionStorage.removeItem(SESSION_KEY);
    setKey(null);
  };
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          Lago webhooks
        </a>
        <button type="button" class="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        {route.endpointId ? (
          <EndpointPage key={route.endpointId} api={api} route={route} />
        ) : (
          <WebhooksPage api={api} />
        )}
      </main>
    </>
  );
}
