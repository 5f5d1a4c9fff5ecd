import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { RouteHandler, HttpEvent, HttpResult } from '#shared/http.ts';
import { MAX_REQUEST_BYTES } from '#shared/http.ts';
import { ROUTES, routeKey, type RouteFunction } from '../routes.ts';

/**
 * A small stand-in for API Gateway's HTTP API: matches the stack's routes, turns each request
 * into a payload v2 event and calls the same handlers the Lambda functions run. The operator
 * routes, behind IAM on AWS, are behind the admin token here.
 */

interface CompiledRoute {
  key: string;
  method: string;
  fn: RouteFunction;
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
  return { key: routeKey(route), method: route.method, fn: route.fn, pattern: new RegExp(`^${source}$`), params, statics: route.path.split('/').length - params.length };
  // The most specific route wins, as on API Gateway (public_key before {lago_id}).
}).sort((a, b) => b.statics - a.statics);

function lagoJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function tokenMatches(given: string | undefined, expected: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(given ?? '');
  if (!match) return false;
  const a = Buffer.from(match[1]!);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export interface GatewayOptions {
  handlers: Record<RouteFunction, RouteHandler>;
  adminToken: string;
  onError: (error: unknown) => void;
}

export function createGateway(options: GatewayOptions): Server {
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
      // As on AWS, where the catch-all route sends anything unmatched to the api function's 404.
      const route = compiled.find((r) => r.method === req.method && r.pattern.test(path));
      if (!route) return lagoJson(res, 404, { status: 404, error: 'Not Found', code: 'route_not_found' });
      if (route.fn === 'admin' && !tokenMatches(req.headers.authorization, options.adminToken)) return lagoJson(res, 401, { status: 401, error: 'Unauthorized' });
      const body = await readBody(req);
      if (body === undefined) {
        // The rest of the body stays unread, so the connection cannot carry another request.
        res.setHeader('connection', 'close');
        return lagoJson(res, 413, { status: 413, error: 'Payload Too Large', message: `the request body exceeds ${MAX_REQUEST_BYTES} bytes` });
      }
      const values = route.pattern.exec(path)!.slice(1);
      const now = new Date();
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
      const query: Record<string, string> = {};
      for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
      const event: HttpEvent = {
        version: '2.0',
        routeKey: route.key,
        // As sent: the console tells /console from /console/.
        rawPath: url.pathname,
        rawQueryString: url.search.replace(/^\?/, ''),
        headers,
        ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
        ...(route.params.length ? { pathParameters: Object.fromEntries(route.params.map((p, i) => [p, values[i]!])) } : {}),
        ...(body ? { body } : {}),
        isBase64Encoded: false,
        requestContext: {
          accountId: 'local',
          apiId: 'local',
          domainName: headers.host ?? 'localhost',
          domainPrefix: 'localhost',
          http: { method: req.method!, path, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
          requestId: randomUUID(),
          routeKey: route.key,
          stage: '$default',
          time: now.toUTCString(),
          timeEpoch: now.getTime(),
        },
      };
      const result: HttpResult = await options.handlers[route.fn](event);
      res.writeHead(result.statusCode ?? 200, (result.headers ?? {}) as Record<string, string>);
      res.end(result.isBase64Encoded && result.body ? Buffer.from(result.body, 'base64') : (result.body ?? ''));
    } catch (error) {
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
