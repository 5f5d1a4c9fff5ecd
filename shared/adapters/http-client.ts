import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { assertNotOwnListener, BlockedAddressError, portOf, type OwnListeners } from '../domain/delivery/ssrf.ts';
import { resolvePublicAddress } from './dns.ts';
import type { PostOptions, PostResult, PostWebhook } from '../domain/ports.ts';

/**
 * One POST to a receiver: pinned to the address the SSRF guard checked, bounded in time and size,
 * no redirects. Connections are kept alive and reused, in a pool per endpoint and checked
 * address, so a warm endpoint costs no new TCP or TLS handshake (https agents also resume TLS
 * sessions); every connection still goes to an address that was checked when it was opened.
 */

/** Agents kept at once; the least recently used is closed past this. */
const MAX_AGENTS = 500;
/** Idle connections are closed after this (or the server's Keep-Alive hint less a second), below common servers' keep-alive (Node's 5 s, nginx's 75 s). */
const IDLE_SOCKET_MS = 4_000;

const agents = new Map<string, http.Agent>();

function agentFor(target: URL, address: string, family: 4 | 6): http.Agent {
  // One pool per endpoint (its URL without the query) and checked address: endpoints that share a
  // host never wait for each other's sockets, so one that hangs cannot hold another's deliveries.
  const key = `${target.protocol}//${target.host}${target.pathname}|${address}`;
  let agent = agents.get(key);
  if (agent) {
    // Most recently used last, so the first entry is the one to close.
    agents.delete(key);
    agents.set(key, agent);
    return agent;
  }
  const lookup: LookupFunction = (_host, opts, callback) => {
    if ((opts as { all?: boolean }).all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
  const options = { keepAlive: true, maxSockets: 50, maxFreeSockets: 10, timeout: IDLE_SOCKET_MS, lookup };
  agent = target.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
  agents.set(key, agent);
  if (agents.size > MAX_AGENTS) {
    // Forgotten, not destroyed: a request still in flight on it finishes, and its idle sockets close on their own.
    const [oldestKey] = agents.keys();
    agents.delete(oldestKey!);
  }
  return agent;
}

/** The POST of a deployment whose own listeners (local mode's API and emulators) are never targets. */
export const postWebhookAvoiding =
  (own: OwnListeners | undefined): PostWebhook =>
  (url, headers, body, options) =>
    postWebhook(url, headers, body, options, own);

export async function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: PostOptions,
  own?: OwnListeners,
): Promise<PostResult> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return { ok: false, kind: 'blocked', error: 'invalid url' };
  }
  if (target.protocol !== 'https:' && !(target.protocol === 'http:' && options.allowHttp)) {
    return { ok: false, kind: 'blocked', error: `${target.protocol} urls are not allowed` };
  }
  const deadline = options.cut
    ? AbortSignal.any([AbortSignal.timeout(options.timeoutMs), options.cut])
    : AbortSignal.timeout(options.timeoutMs);
  let pinned: { address: string; family: 4 | 6 };
  try {
    pinned = await withDeadline(resolvePublicAddress(target.hostname, options.allow), deadline);
    assertNotOwnListener(pinned.address, portOf(target), own);
  } catch (error) {
    if (error instanceof BlockedAddressError) return { ok: false, kind: 'blocked', error: error.message };
    if (deadline.aborted) return { ok: false, kind: 'timeout', error: `timed out after ${options.timeoutMs} ms` };
    return { ok: false, kind: 'network', error: `dns: ${(error as Error).message}` };
  }
  // No retry on a reset, even on a reused connection: the receiver may have got the request, and the
  // idle timeout (below common servers' keep-alive) keeps connections from going stale under us.
  return send(target, agentFor(target, pinned.address, pinned.family), headers, body, options, deadline);
}

function send(
  target: URL,
  agent: http.Agent,
  headers: Record<string, string>,
  body: string,
  options: PostOptions,
  deadline: AbortSignal,
): Promise<PostResult> {
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    const request = client.request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        agent,
        signal: deadline,
      },
      (response) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        response.on('data', (chunk: Buffer) => {
          if (kept >= options.maxResponseBytes) return;
          const part = chunk.subarray(0, options.maxResponseBytes - kept);
          chunks.push(part);
          kept += part.length;
        });
        response.on('end', () => {
          const retryAfter = response.headers['retry-after'];
          resolve({
            ok: true,
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
          });
        });
        response.on('error', (error) => resolve(failure(error, deadline, options.timeoutMs)));
      },
    );
    request.on('error', (error) => resolve(failure(error, deadline, options.timeoutMs)));
    request.end(body);
  });
}

function failure(error: Error, deadline: AbortSignal, timeoutMs: number): PostResult {
  if (deadline.aborted) return { ok: false, kind: 'timeout', error: `timed out after ${timeoutMs} ms` };
  const code = (error as NodeJS.ErrnoException).code;
  return { ok: false, kind: 'network', error: code ? `${code}: ${error.message}` : error.message };
}

function withDeadline<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
