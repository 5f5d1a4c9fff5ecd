import { useMemo, useState } from 'preact/hooks';
import { ApiError, createApi, type Api, type EndpointList, type EventTypes } from './api.ts';
import { EndpointPage } from './endpoint.tsx';
import { ApiContext, useApi, useSubmit } from './hooks.ts';
import { useNavigated, useRoute, type Route } from './route.ts';
import { ErrorMessage, EventTypesContext, NavigatedContext, useDocumentTitle, ViewHeading } from './ui.tsx';
import { WebhooksPage } from './webhooks.tsx';

/** The key lives in this tab's sessionStorage only: never in the URL, localStorage or a log. */
const SESSION_KEY = 'lago-console-api-key';

const NOT_ACCEPTED = 'This organization API key was not accepted. Check the key and try again.';

function SignIn({ onSignedIn }: { onSignedIn: (key: string) => void }) {
  const [key, setKey] = useState('');
  const [empty, setEmpty] = useState(false);
  useDocumentTitle('Sign in');
  // Any organization route tells a good key from a bad one.
  const check = useSubmit(
    async (signal, candidate: string) => {
      await createApi(candidate)<EndpointList>('GET', '/api/v1/webhook_endpoints?per_page=1', { signal });
      return candidate;
    },
    { onDone: onSignedIn },
  );
  const submit = (event: Event) => {
    event.preventDefault();
    const candidate = key.trim();
    setEmpty(!candidate);
    if (candidate) void check.run(candidate);
  };
  const refused = check.error instanceof ApiError && check.error.status === 401;
  return (
    <main class="sign-in">
      <ViewHeading>Lago webhooks</ViewHeading>
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
        <ErrorMessage
          error={
            empty ? new Error('Enter your organization API key.') : refused ? new Error(NOT_ACCEPTED) : check.error
          }
        />
        <button type="submit" disabled={check.busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

/** The signed-in console: the catalog of event types is read once here, for every form that lists them. */
function Console({ route, onSignOut }: { route: Route; onSignOut: () => void }) {
  const catalog = useApi<EventTypes>('/api/v1/webhook_event_types');
  return (
    <EventTypesContext.Provider value={catalog}>
      <header class="top">
        <a class="brand" href="#/">
          Lago webhooks
        </a>
        <button type="button" class="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main>
        {route.endpointId ? (
          <EndpointPage key={route.endpointId} id={route.endpointId} route={route} />
        ) : (
          <WebhooksPage />
        )}
      </main>
    </EventTypesContext.Provider>
  );
}

export function App() {
  const [key, setKey] = useState(() => sessionStorage.getItem(SESSION_KEY));
  const route = useRoute();
  const api = useMemo<Api | undefined>(() => (key ? createApi(key) : undefined), [key]);
  const navigated = useNavigated(!api ? 'sign-in' : route.endpointId ? `endpoint:${route.endpointId}` : 'webhooks');
  const signIn = (k: string) => {
    sessionStorage.setItem(SESSION_KEY, k);
    setKey(k);
  };
  const signOut = () => {
    sessionStorage.removeItem(SESSION_KEY);
    setKey(null);
  };
  return (
    <NavigatedContext.Provider value={navigated}>
      {api ? (
        <ApiContext.Provider value={api}>
          <Console route={route} onSignOut={signOut} />
        </ApiContext.Provider>
      ) : (
        <SignIn onSignedIn={signIn} />
      )}
    </NavigatedContext.Provider>
  );
}
