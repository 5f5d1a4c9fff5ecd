import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { decodeJwt } from 'jose';

/**
 * Who the console is signed in as: an organization API key (a manager, without expiry) or a portal link's session
 * token (a JWT with its role and expiry). The role and expiry are read from the token's payload for display only:
 * the server checks the signature and refuses what a role may not do anyway.
 */

type Role = 'viewer' | 'manager';

export interface Session {
  key: string;
  role: Role;
  /** A portal session's end. */
  expiresAt?: Date;
}

export const PORTAL_REFUSED = 'This portal link has expired or was revoked. Ask for a new one.';

/**
 * The token of a portal link (`…/console/#portal=<token>`, then `&endpoint=<id>` for a link to an endpoint's
 * deliveries), taken out of the URL at once (`history.replaceState`), so it lingers in neither the address bar, the
 * history nor a bookmark; the URL is left on the view the link opens. Undefined when the URL has none.
 */
export function takePortalToken(): string | undefined {
  const match = /^#portal=([A-Za-z0-9._-]+)(?:&endpoint=([0-9a-f-]{36}))?$/.exec(location.hash);
  if (!match) return undefined;
  const view = match[2] ? `#/endpoints/${match[2]}/deliveries` : '#/';
  history.replaceState(null, '', `${location.pathname}${location.search}${view}`);
  return match[1];
}

/** What a credential says of itself: a session token (two dots, which an API key never has) or an API key. */
export function sessionOf(key: string): Session {
  if (key.split('.').length !== 3) return { key, role: 'manager' };
  try {
    const { role, exp } = decodeJwt(key);
    return {
      key,
      role: role === 'manager' ? 'manager' : 'viewer',
      ...(typeof exp === 'number' ? { expiresAt: new Date(exp * 1000) } : {}),
    };
  } catch {
    // Unreadable: the server refuses it; until then it shows as the lesser role.
    return { key, role: 'viewer' };
  }
}

export const isPortalSession = (session: Session): boolean => session.key.split('.').length === 3;

export const hasExpired = (session: Session): boolean =>
  session.expiresAt !== undefined && session.expiresAt.getTime() <= Date.now();

export const SessionContext = createContext<Session | undefined>(undefined);

/** Whether the signed-in role may change things and read secrets: a viewer's console shows no such button. */
export const useCanManage = (): boolean => useContext(SessionContext)?.role !== 'viewer';
