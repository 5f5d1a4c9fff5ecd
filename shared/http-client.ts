import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { BlockedAddressError, resolvePublicAddress, type Cidr } from './ssrf.ts';

/** One POST to a receiver: pinned to the address the SSRF guard checked, bounded in time and size, no redirects. */

export interface PostOptions {
  timeoutMs: number;
  allow: readonly Cidr[];
  allowHttp: boolean;
  /** Bytes of the response body kept. */
  maxResponseBytes: number;
}

export type PostResult =
  | { ok: true; status: number; body: string; retryAfter: string | undefined }
  | { ok: false; kind: 'timeout' | 'network' | 'blocked'; error: string };

export async function postWebhook(url: string, headers: Record<string, string>, body: string, options: PostOptions): Promise<PostResult> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return { ok: false, kind: 'blocked', error: 'invalid url' };
  }
  if (target.protocol !== 'https:' && !(target.protocol === 'http:' && options.allowHttp)) {
    return { ok: false, kind: 'blocked', error: `${target.protocol} urls are not allowed` };
  }
  const deadline = AbortSignal.timeout(options.timeoutMs);
  let pinned: { address: string; family: 4 | 6 };
  try {
    pinned = await withDeadline(resolvePublicAddress(target.hostname, options.allow), deadline);
  } catch (error) {
    if (error instanceof BlockedAddressError) return { ok: false, kind: 'blocked', error: error.message };
    if (deadline.aborted) return { ok: false, kind: 'timeout', error: `timed out after ${options.timeoutMs} ms` };
    return { ok: false, kind: 'network', error: `dns: ${(error as Error).message}` };
  }
  const lookup: LookupFunction = (_host, opts, callback) => {
    if ((opts as { all?: boolean }).all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  };
  const client = target.protocol === 'https:' ? https : http;
  return new Promise<PostResult>((resolve) => {
    const request = client.request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        lookup,
        signal: deadline,
        agent: false,
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
          resolve({ ok: true, status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter });
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
