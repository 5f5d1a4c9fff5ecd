import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import httpSecurityHeaders from '@middy/http-security-headers';
import middy, { type MiddlewareObj } from '@middy/core';
import { httpHandler, type HttpEvent, type HttpHandler, type HttpResult } from './http.ts';

/**
 * Serves the web console's built assets (Vite's console/dist) under /console/, with the same
 * security headers on every answer. The console routes with the URL's hash, so the only page is
 * index.html: any other path that is not a built file is a 404 (no SPA fallback to guess).
 */

/** Leaves out one of the middleware's default CSP directives: its code skips a falsy one, its types only say string. */
const OFF = false as unknown as string;

/**
 * The console only runs its own bundled script and only calls this origin's API. Set by
 * @middy/http-security-headers with its other defaults off: they would change what the console
 * answers today (HSTS, Permissions-Policy, Trusted Types, upgrade-insecure-requests on the local http).
 */
const SECURITY_HEADERS_OPTIONS = {
  contentSecurityPolicy: {
    'default-src': "'none'",
    'base-uri': "'none'",
    sandbox: OFF,
    'form-action': "'self'",
    'frame-ancestors': "'none'",
    'report-to': OFF,
    'require-trusted-types-for': OFF,
    'upgrade-insecure-requests': OFF,
    'script-src': "'self'",
    'style-src': "'self'",
    'img-src': "'self' data:",
    'font-src': "'self'",
    'connect-src': "'self'",
    'manifest-src': "'self'",
  },
  contentTypeOptions: { action: 'nosniff' },
  referrerPolicy: { policy: 'no-referrer' },
  frameOptions: { action: 'deny' },
  crossOriginOpenerPolicy: { policy: 'same-origin' },
  crossOriginEmbedderPolicy: false,
  crossOriginResourcePolicy: false,
  dnsPrefetchControl: false,
  downloadOptions: false,
  originAgentCluster: false,
  permissionsPolicy: false,
  permittedCrossDomainPolicies: false,
  reportingEndpoints: false,
  reportTo: false,
  strictTransportSecurity: false,
  xssProtection: false,
};

/** What every answer of the console carries, by default (`frame-ancestors 'none'`). */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/**
 * The middleware's options for `frameAncestors` (the CONSOLE_FRAME_ANCESTORS setting, validated there). Allowed in
 * a frame, the console drops X-Frame-Options: its DENY would still refuse every frame (it has no list of origins).
 */
function securityHeadersOptions(frameAncestors: string) {
  if (frameAncestors === "'none'") return SECURITY_HEADERS_OPTIONS;
  return {
    ...SECURITY_HEADERS_OPTIONS,
    contentSecurityPolicy: { ...SECURITY_HEADERS_OPTIONS.contentSecurityPolicy, 'frame-ancestors': frameAncestors },
    frameOptions: false,
  };
}

/**
 * Header names in lower case, as the rest of the service writes them (and API Gateway's payload v2
 * and the local gateway carry them): the security headers middleware writes them capitalized.
 */
const lowerCaseHeaders: MiddlewareObj<HttpEvent, HttpResult> = {
  after: (request) => {
    const response = request.response;
    if (response?.headers)
      request.response = {
        ...response,
        headers: Object.fromEntries(
          Object.entries(response.headers).map(([name, value]) => [name.toLowerCase(), value]),
        ),
      };
  },
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

function answer(
  statusCode: number,
  headers: Record<string, string>,
  body: string,
  isBase64Encoded = false,
): HttpResult {
  return { statusCode, headers, body, isBase64Encoded };
}

const plain = (statusCode: number, message: string) =>
  answer(statusCode, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, message);

/**
 * A handler for `GET /console` and `GET /console/{proxy+}` serving the files under `dir`; `frameAncestors`: who
 * may frame it (CONSOLE_FRAME_ANCESTORS).
 */
export function createConsoleHandler(dir: string, frameAncestors = "'none'"): HttpHandler {
  const root = resolve(dir);
  const cache = new Map<string, HttpResult>();
  const serve = async (event: HttpEvent): Promise<HttpResult> => {
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
    // A copy: the middlewares write into the answer's headers, and the cached one stays as read.
    const cached = cache.get(file);
    if (cached) return { ...cached, headers: { ...cached.headers } };
    const extension = extname(file);
    let content: Buffer;
    try {
      content = await readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (relative === 'index.html' && code === 'ENOENT')
        return plain(503, 'The console is not built: run `npm run build:console`.');
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
    return { ...result, headers: { ...result.headers } };
  };
  // After-middlewares run last-added first: the headers are set, then their names lower-cased.
  return httpHandler(
    middy<HttpEvent, HttpResult>()
      .use(lowerCaseHeaders)
      .use(httpSecurityHeaders(securityHeadersOptions(frameAncestors)))
      .handler(serve),
  );
}
