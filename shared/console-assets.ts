import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { HttpEvent, HttpResult, RouteHandler } from './http.ts';

/**
 * Serves the web console's built assets (Vite's console/dist) under /console/, with the same
 * security headers on every answer. The console routes with the URL's hash, so the only page is
 * index.html: any other path that is not a built file is a 404 (no SPA fallback to guess).
 */

/** The console only runs its own bundled script and only calls this origin's API. */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};
const TEXT = new Set(['.html', '.js', '.css', '.svg', '.json']);

const PREFIX = '/console';

function answer(statusCode: number, headers: Record<string, string>, body: string, isBase64Encoded = false): HttpResult {
  return { statusCode, headers: { ...CONSOLE_SECURITY_HEADERS, ...headers }, body, isBase64Encoded };
}

const plain = (statusCode: number, message: string) => answer(statusCode, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, message);

/** A handler for `GET /console` and `GET /console/{proxy+}` serving the files under `dir`. */
export function createConsoleHandler(dir: string): RouteHandler {
  const root = resolve(dir);
  const cache = new Map<string, HttpResult>();
  return async (event: HttpEvent) => {
    const path = event.rawPath ?? PREFIX;
    // Relative asset URLs resolve against /console/, so the bare prefix must gain its slash.
    if (path === PREFIX) return answer(301, { location: `${PREFIX}/`, 'cache-control': 'no-store' }, '');
    if (!path.startsWith(`${PREFIX}/`)) return plain(404, 'Not Found');
    let relative: string;
    try {
      relative = decodeURIComponent(path.slice(PREFIX.length + 1)) || 'index.html';
    } catch {
      return plain(400, 'Bad Request');
    }
    const file = resolve(root, relative);
    if (!file.startsWith(root + sep) || relative.includes('\0')) return plain(404, 'Not Found');
    const cached = cache.get(file);
    if (cached) return cached;
    const extension = extname(file);
    let content: Buffer;
    try {
      content = await readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (relative === 'index.html' && code === 'ENOENT') return plain(503, 'The console is not built: run `npm run build:console`.');
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return plain(404, 'Not Found');
      throw error;
    }
    // Vite names built assets by their content hash, so they never change; the page itself must be revalidated.
    const caching = relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    const type = TYPES[extension] ?? 'application/octet-stream';
    const result = TEXT.has(extension)
      ? answer(200, { 'content-type': type, 'cache-control': caching }, content.toString('utf8'))
      : answer(200, { 'content-type': type, 'cache-control': caching }, content.toString('base64'), true);
    cache.set(file, result);
    return result;
  };
}
