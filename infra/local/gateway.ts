import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { RouteHandler, HttpEvent, HttpResult } from '#shared/runtime/http.ts';
import { MAX_REQUEST_BYTES } from '#shared/runtime/http.ts';
import { bearerToken, isApiKeyShaped } from '#shared/domain/organizations/organizations.ts';
import { isSessionTokenShaped } from '#shared/domain/organizations/portal-sessions.ts';
import { ROUTES, routeKey, type RouteFunction } from '#shared/runtime/routes.ts';

/**
 * A small stand-in for API Gateway's HTTP API: matches the stack's routes, turns each request
 * into a payload v2 event and calls the same handlers the Lambda functions run. The operator
 * routes, behind IAM on AWS, are behind the admin token here.
 */

interface CompiledRoute {
  key: string;
  method: string;
  fn: RouteFunction;
  public: boolean;
  pattern: RegExp;
  params: string[];
  statics: number;
}

const compiled: CompiledRoute[] = ROUTES.map((route) => {
  const params: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)(\+?)\}$/.exec(segment);
      if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      params.push(param[1]!);
      // A greedy {name+} takes the rest of the path, slashes included, as on API Gateway.
      return param[2] ? '(.+)' : '([^/]+)';
    })
    .join('/');
  return {
    key: routeKey(route),
    method: route.method,
    fn: route.fn,
    public: route.public === true,
    pattern: new RegExp(`^${source}$`),
    params,
    statics: route.path.split('/').length - params.length,
  };
  // The most specific route wins, as on API Gateway (public_key before {lago_id}).
}).sort((a, b) => b.statics - a.statics);

function lagoJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/** An answer given before the body is read: a pending body stays unread, so the connection cannot carry another request. */
function refuseUnread(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const pending = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (pending && !req.readableEnded) res.setHeader('connection', 'close');
  lagoJson(res, status, body, headers);
}

/** What every route answers while the service starts: a 503 a client can tell from any other, with when to retry. */
const STARTING = {
  status: 503,
  error: 'Service Unavailable',
  code: 'starting',
  message: 'the service is starting; retry in a second',
};

/**
 * Local mode's own routes for scripts, outside the API (so on no route of AWS's): `/health/live`
 * answers as soon as the port is open, `/health/ready` once the service is ready, 503 `starting` before.
 */
function health(path: string, starting: boolean): { status: number; body: unknown } | undefined {
  if (path === '/health/live') return { status: 200, body: { status: 'live' } };
  if (path === '/health/ready')
    return starting ? { status: 503, body: STARTING } : { status: 200, body: { status: 'ready' } };
  return undefined;
}

function tokenMatches(given: string | undefined, expected: string): boolean {
  const token = bearerToken(given);
  if (token === undefined) return false;
  const a = Buffer.from(token);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

class ClientAborted extends Error {}

/** The body, or undefined past MAX_REQUEST_BYTES; throws ClientAborted when the client goes away mid-upload. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) return undefined;
      chunks.push(chunk);
    }
  } catch (error) {
    if (req.destroyed || (error as NodeJS.ErrnoException).code === 'ECONNRESET')
      throw new ClientAborted('the client aborted the request');
    throw error;
  }
  return Buffer.concat(chunks).toString('utf8');
}

const UNAUTHORIZED = { status: 401, error: 'Unauthorized' };

export interface GatewayOptions {
  handlers: Record<RouteFunction, RouteHandler>;
  adminToken: string;
  onError: (error: unknown) => void;
  /** A client that went away mid-request: routine, not an error. */
  onAborted?: () => void;
  /** True while the service starts: every route answers 503 `starting`. @default - never */
  starting?: () => boolean;
}

/** The path of a request target, or undefined for one no route could match (`//`, `/\`, absolute forms). */
function targetUrl(target: string | undefined): URL | undefined {
  if (!target?.startsWith('/') || target.startsWith('//') || target.startsWith('/\\')) return undefined;
  try {
    return new URL(target, 'http://localhost');
  } catch {
    return undefined;
  }
}

export function createGateway(options: GatewayOptions): Server {
  const server = createServer(async (req, res) => {
    try {
      await serve(options, req, res);
    } catch (error) {
      if (error instanceof ClientAborted) {
        options.onAborted?.();
        return void res.destroy();
      }
      options.onError(error);
      if (!res.headersSent) lagoJson(res, 500, { status: 500, error: 'Internal Server Error' });
      else res.end();
    }
  });
  // Longer than clients keep idle connections (they take the server's hint minus a margin), so a
  // client never reuses one the server is closing; shorter than the headers timeout, as Node expects.
  server.keepAliveTimeout = 30_000;
  return server;
}

/** One request, as API Gateway would take it: route, credentials, body, then the function's answer. */
async function serve(options: GatewayOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = targetUrl(req.url);
  if (!url) return refuseUnread(req, res, 400, { status: 400, error: 'BadRequest: the request target is not a path' });
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
  const starting = options.starting?.() ?? false;
  const probe = req.method === 'GET' ? health(path, starting) : undefined;
  if (probe)
    return refuseUnread(req, res, probe.status, probe.body, probe.status === 503 ? { 'retry-after': '1' } : {});
  if (starting) return refuseUnread(req, res, 503, STARTING, { 'retry-after': '1' });
  // As on AWS, where the catch-all route sends anything unmatched to the api function's 404.
  const match = matchRoute(req.method, path);
  if (!match) return refuseUnread(req, res, 404, { status: 404, error: 'Not Found', code: 'route_not_found' });
  // Credentials are checked before a byte of the body is read, so unauthenticated clients cannot
  // make the gateway buffer bodies.
  if (!authorized(match.route, req.headers.authorization, options.adminToken))
    return refuseUnread(req, res, 401, UNAUTHORIZED);
  const body = await routeBody(match.route, req, res);
  if (body === undefined)
    return refuseUnread(req, res, 413, {
      status: 413,
      error: 'Payload Too Large',
      message: `the request body exceeds ${MAX_REQUEST_BYTES} bytes`,
    });
  const result: HttpResult = await options.handlers[match.route.fn](httpEvent(req, url, path, match, body));
  res.writeHead(result.statusCode ?? 200, (result.headers ?? {}) as Record<string, string>);
  res.end(result.isBase64Encoded && result.body ? Buffer.from(result.body, 'base64') : (result.body ?? ''));
}

interface RouteMatch {
  route: CompiledRoute;
  /** The path parameters' values, in the order of `route.params`. */
  values: string[];
}

function matchRoute(method: string | undefined, path: string): RouteMatch | undefined {
  for (const route of compiled) {
    const match = route.method === method ? route.pattern.exec(path) : null;
    if (match) return { route, values: match.slice(1) };
  }
  return undefined;
}

/**
 * Operator routes take the admin token; organization routes a key or portal session token of the right shape (the
 * api function looks it up, or verifies it).
 */
function authorized(route: CompiledRoute, authorization: string | undefined, adminToken: string): boolean {
  if (route.fn === 'admin') return tokenMatches(authorization, adminToken);
  if (route.fn !== 'api' || route.public) return true;
  const key = bearerToken(authorization);
  return key !== undefined && (isApiKeyShaped(key) || isSessionTokenShaped(key));
}

/** The body, or undefined when it is too large. A public route (the OpenAPI document) takes none: whatever an anonymous client sends is left unread. */
async function routeBody(route: CompiledRoute, req: IncomingMessage, res: ServerResponse): Promise<string | undefined> {
  if (!route.public) return readBody(req);
  if (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0)
    res.setHeader('connection', 'close');
  return '';
}

/** The request as an API Gateway payload v2 event. */
function httpEvent(
  req: IncomingMessage,
  url: URL,
  path: string,
  { route, values }: RouteMatch,
  body: string,
): HttpEvent {
  const now = new Date();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers))
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  // As API Gateway does (it answers https): the scheme the client used, which links to the service are built with.
  headers['x-forwarded-proto'] = 'http';
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  return {
    version: '2.0',
    routeKey: route.key,
    // As sent: the console tells /console from /console/.
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(route.params.length
      ? { pathParameters: Object.fromEntries(route.params.map((p, i) => [p, values[i] ?? ''])) }
      : {}),
    ...(body ? { body } : {}),
    isBase64Encoded: false,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: route.method,
        path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: route.key,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
  };
}
