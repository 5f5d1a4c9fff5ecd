import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { cancellationCodes } from '../adapters/dynamodb/client.ts';
import { ApiError, badRequest, payloadTooLarge } from '../domain/errors.ts';
import type { Logger } from './logger.ts';

/** HTTP API (payload v2) plumbing shared by the API handlers: bodies, queries and Lago's error shape. */

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

/** The largest request body any route reads. */
export const MAX_REQUEST_BYTES = 512 * 1024;

export function json(statusCode: number, body: unknown): HttpResult {
  return { statusCode, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) };
}

export function text(statusCode: number, body: string): HttpResult {
  return { statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body };
}

const REASONS: Record<ApiError['kind'], [number, string]> = {
  bad_request: [400, 'BadRequest'],
  unauthorized: [401, 'Unauthorized'],
  forbidden: [403, 'Forbidden'],
  not_found: [404, 'Not Found'],
  not_allowed: [405, 'Method Not Allowed'],
  conflict: [409, 'Conflict'],
  payload_too_large: [413, 'Payload Too Large'],
  validation: [422, 'Unprocessable Entity'],
  too_many_requests: [429, 'Too Many Requests'],
  unavailable: [503, 'Service Unavailable'],
};

/** The one place an error becomes Lago's JSON error shape: its HTTP status and body. */
export function lagoError(error: ApiError): { status: number; body: Record<string, unknown> } {
  const [status, reason] = REASONS[error.kind];
  switch (error.kind) {
    case 'bad_request':
      return { status, body: { status, error: `${reason}: ${error.message}` } };
    case 'validation':
      return { status, body: { status, error: reason, code: 'validation_errors', error_details: error.details ?? {} } };
    case 'unauthorized':
      return { status, body: { status, error: reason } };
    case 'conflict':
      return { status, body: { status, error: reason, code: error.code, message: error.message } };
    case 'payload_too_large':
    case 'unavailable':
      return {
        status,
        body: { status, error: reason, ...(error.code ? { code: error.code } : {}), message: error.message },
      };
    case 'too_many_requests':
      return { status, body: { status, error: reason, code: error.code, message: error.message } };
    default:
      return { status, body: { status, error: reason, code: error.code } };
  }
}

export function toLagoError(error: ApiError): HttpResult {
  const { status, body } = lagoError(error);
  const result = json(status, body);
  if (error.retryAfterSeconds === undefined) return result;
  const wait = String(error.retryAfterSeconds);
  const limited = error.rateLimited;
  // Retry-After for any client; X-RateLimit-* as Lago's API sends them (its clients wait X-RateLimit-Reset seconds).
  return {
    ...result,
    headers: {
      ...result.headers,
      'retry-after': wait,
      ...(limited
        ? { 'x-ratelimit-limit': String(limited.limit), 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': wait }
        : {}),
    },
  };
}

export function header(event: HttpEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/** The deepest nesting of arrays and objects a request body may have. */
export const MAX_JSON_DEPTH = 64;

/**
 * The nesting depth of a JSON text, counted without recursion, so a hostile body cannot exhaust
 * the stack here or later (JSON.stringify of a deeply nested payload recurses).
 */
export function jsonDepth(raw: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/**
 * The request body as JSON; absent bodies are `{}`; anything unreadable or nested too deeply is a 400, anything huge a 413.
 * Hand-written rather than @middy/http-json-body-parser: that middleware has no size or depth
 * limit, refuses a request without a JSON content type (Lago's clients do not always send one)
 * and answers in its own error shape; routes call this where they read a body, so a GET never parses one.
 */
export function jsonBody(event: HttpEvent): unknown {
  if (!event.body) return {};
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(raw) > MAX_REQUEST_BYTES)
    throw payloadTooLarge(`the request body exceeds ${MAX_REQUEST_BYTES} bytes`);
  if (jsonDepth(raw) > MAX_JSON_DEPTH)
    throw badRequest(`the request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw badRequest('the request body is not valid JSON');
  }
}

export const queryParams = (event: HttpEvent): URLSearchParams => new URLSearchParams(event.rawQueryString ?? '');

export function pathParam(event: HttpEvent, name: string): string {
  const value = event.pathParameters?.[name];
  if (!value) throw badRequest(`missing path parameter ${name}`);
  try {
    return decodeURIComponent(value);
  } catch {
    throw badRequest(`invalid path parameter ${name}`);
  }
}

export type RouteHandler = (event: HttpEvent) => Promise<HttpResult>;

/** A function's HTTP handler: a middy handler, which Lambda calls with its context (tests and local wiring may leave it out). */
export type HttpHandler = (event: HttpEvent, context?: Context) => Promise<HttpResult>;

/** A middy handler as an HttpHandler: called without a context, it gets an empty one. */
export const httpHandler =
  (handler: (event: HttpEvent, context: Context) => Promise<HttpResult>): HttpHandler =>
  (event, context) =>
    handler(event, context ?? ({} as Context));

/**
 * The one place errors become answers: an ApiError is Lago's error shape, anything else a logged
 * bare 500 that never leaks its message. Our own onError rather than @middy/http-error-handler,
 * which answers with the error's message as the body and its own content type, not Lago's JSON.
 */
function lagoErrors(logger: Logger): MiddlewareObj<HttpEvent, HttpResult> {
  return {
    onError: (request) => {
      const { error, event } = request;
      if (error instanceof ApiError) {
        request.response = toLagoError(error);
        return;
      }
      if (isThrottle(error)) {
        // DynamoDB (or SQS) still refused after the SDK's own retries: nothing was done, and trying again shortly works.
        logger.warn({ err: error, route: event.routeKey }, 'throttled by AWS; answered 503');
        request.response = toLagoError(
          new ApiError('unavailable', {
            code: 'throttled',
            message: 'the service is busy; nothing was done, retry shortly',
            retryAfterSeconds: 1,
          }),
        );
        return;
      }
      logger.error(
        { err: error, route: event.routeKey, request_id: event.requestContext?.requestId },
        'unhandled error',
      );
      request.response = json(500, { status: 500, error: 'Internal Server Error' });
    },
  };
}

const THROTTLES = new Set(['ThrottlingException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded']);

/** An AWS throttle, by the SDK error's name (a cancelled transaction whose reasons are throttles counts too). */
const isThrottle = (error: unknown): boolean =>
  (error instanceof Error && THROTTLES.has(error.name)) ||
  (cancellationCodes(error)?.includes('ThrottlingError') ?? false);

/** Dispatches on the HTTP API route key, under the lagoErrors middleware. */
export function router(routes: Record<string, RouteHandler>, logger: Logger): HttpHandler {
  return httpHandler(
    middy<HttpEvent, HttpResult>()
      .use(lagoErrors(logger))
      .handler(async (event) => {
        const route = routes[event.routeKey];
        if (!route) return json(404, { status: 404, error: 'Not Found', code: 'route_not_found' });
        return route(event);
      }),
  );
}
