import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, createApi, type Api, type EndpointList, type EventTypes } from './api.ts';
import { EndpointPage } from './endpoint.tsx';
import { ApiContext, useApi, useSubmit } from './hooks.ts';
import { useNavigated, useRoute, type Route } from './route.ts';
import {
  hasExpired,
  isPortalSession,
  PORTAL_REFUSED,
  sessionOf,
  SessionContext,
  takePortalToken,
  type Session,
} from './session.ts';
import { ErrorMessage, EventTypesContext, formatTime, NavigatedContext, useDocumentTitle, ViewHeading } from './ui.tsx';
import { WebhooksPage } from './webhooks.tsx';

/** The key (or a portal link's token) lives in this tab's sessionStorage only: never in the URL, localStorage or a log. */
const SESSION_KEY = 'lago-console-api-key';

const NOT_ACCEPTED = 'This organization API key was not accepted. Check the key and try again.';

function SignIn({ onSignedIn, notice }: { onSignedIn: (key: string) => void; notice: string | undefined }) {
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
      {notice ? (
        <p class="error" role="alert">
          {notice}
        </p>
      ) : null}
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

/** A portal session's role and end, in the header (what its token says; the server enforces it). */
function SessionBadge({ session }: { session: Session }) {
  if (!isPortalSession(session)) return null;
  return (
    <span class="session" data-testid="session">
      {session.role === 'viewer' ? 'Viewer' : 'Manager'}
      {session.expiresAt ? ` · until ${formatTime(session.expiresAt.toISOString())}` : ''}
    </span>
  );
}

/** The signed-in console: the catalog of event types is read once here, for every form that lists them. */
function Console({ route, session, onSignOut }: { route: Route; session: Session; onSignOut: () => void }) {
  const catalog = useApi<EventTypes>('/api/v1/webhook_event_types');
  return (
    <EventTypesContext.Provider value={catalog}>
      <header class="top">
        <a class="brand" href="#/">
          Lago webhooks
        </a>
        <span class="row-actions">
          <SessionBadge session={session} />
          <button type="button" class="secondary" onClick={onSignOut}>
            Sign out
          </button>
        </span>
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

interface Opened {
  session: Session | undefined;
  /** Why a portal link was not used. */
  notice: string | undefined;
}

/** A portal link's token in the URL, taken (kept as a key is, unless it has already expired); undefined if none. */
function openPortalLink(): Opened | undefined {
  const portal = takePortalToken();
  if (portal === undefined) return undefined;
  const session = sessionOf(portal);
  if (hasExpired(session)) {
    sessionStorage.removeItem(SESSION_KEY);
    return { session: undefined, notice: PORTAL_REFUSED };
  }
  sessionStorage.setItem(SESSION_KEY, portal);
  return { session, notice: undefined };
}

/** The credential the console opens with: a portal link's, else the key this tab signed in with. */
function initialSession(): Opened {
  const key = sessionStorage.getItem(SESSION_KEY);
  return openPortalLink() ?? { session: key ? sessionOf(key) : undefined, notice: undefined };
}

export function App() {
  const [initial] = useState(initialSession);
  const [session, setSession] = useState(initial.session);
  const [notice, setNotice] = useState(initial.notice);
  // A portal link opened in a tab already on the console changes only the fragment: no new page load.
  useEffect(() => {
    const opened = () => {
      const link = openPortalLink();
      if (!link) return;
      setSession(link.session);
      setNotice(link.notice);
    };
    addEventListener('hashchange', opened);
    return () => removeEventListener('hashchange', opened);
  }, []);
  const route = useRoute();
  const api = useMemo<Api | undefined>(() => {
    if (!session) return undefined;
    // A portal session refused (expired, revoked) ends: the sign-in page says why, rather than each view failing.
    const refused = isPortalSession(session)
      ? () => {
          sessionStorage.removeItem(SESSION_KEY);
          setSession(undefined);
          setNotice(PORTAL_REFUSED);
        }
      : undefined;
    return createApi(session.key, refused);
  }, [session]);
  const navigated = useNavigated(!api ? 'sign-in' : route.endpointId ? `endpoint:${route.endpointId}` : 'webhooks');
  const signIn = (k: string) => {
    sessionStorage.setItem(SESSION_KEY, k);
    setNotice(undefined);
    setSession(sessionOf(k));
  };
  const signOut = () => {
    sessionStorage.removeItem(SESSION_KEY);
    setSession(undefined);
  };
  return (
    <NavigatedContext.Provider value={navigated}>
      {api && session ? (
        <ApiContext.Provider value={api}>
          <SessionContext.Provider value={session}>
            <Console route={route} session={session} onSignOut={signOut} />
          </SessionContext.Provider>
        </ApiContext.Provider>
      ) : (
        <SignIn onSignedIn={signIn} notice={notice} />
      )}
    </NavigatedContext.Provider>
  );
}
