// Covers shared/runtime/http.ts: Lago's error shapes, request body parsing, path parameters and the router's handling of unexpected errors.
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  ApiError,
  badRequest,
  conflict,
  notAllowed,
  notFound,
  payloadTooLarge,
  unauthorized,
  unavailable,
  validationFailed,
} from '#shared/domain/errors.ts';
import { bearerToken } from '#shared/domain/organizations/organizations.ts';
import {
  header,
  json,
  jsonBody,
  jsonDepth,
  MAX_JSON_DEPTH,
  MAX_REQUEST_BYTES,
  pathParam,
  router,
  toLagoError,
  type HttpEvent,
} from '#shared/runtime/http.ts';
import type { Logger } from '#shared/runtime/logger.ts';

function event(overrides: Partial<HttpEvent> = {}): HttpEvent {
  return {
    version: '2.0',
    routeKey: 'GET /api/v1/webhook_endpoints/{lago_id}',
    rawPath: '/api/v1/webhook_endpoints/x',
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: { requestId: 'req-1' } as HttpEvent['requestContext'],
    ...overrides,
  };
}

function recordingLogger() {
  const errors: unknown[][] = [];
  const noop = () => {};
  const logger = {
    info: noop,
    warn: noop,
    debug: noop,
    error: (...args: unknown[]) => void errors.push(args),
  } as unknown as Logger;
  return { logger, errors };
}

const bodyOf = (result: { body?: string }) => JSON.parse(result.body!) as unknown;

describe('toLagoError', () => {
  it('renders a 400 as {"status":400,"error":"BadRequest: ..."}', () => {
    const result = toLagoError(badRequest('param is missing or the value is empty: webhook_endpoint'));
    expect(result.statusCode).toBe(400);
    expect(result.headers).toEqual({ 'content-type': 'application/json; charset=utf-8' });
    expect(result.body).toBe(
      '{"status":400,"error":"BadRequest: param is missing or the value is empty: webhook_endpoint"}',
    );
  });

  it('renders a 401 as {"status":401,"error":"Unauthorized"}', () => {
    const result = toLagoError(unauthorized());
    expect(result.statusCode).toBe(401);
    expect(result.body).toBe('{"status":401,"error":"Unauthorized"}');
  });

  it('renders a 404 with its code', () => {
    const result = toLagoError(notFound('webhook_endpoint'));
    expect(result.statusCode).toBe(404);
    expect(result.body).toBe('{"status":404,"error":"Not Found","code":"webhook_endpoint_not_found"}');
  });

  it('renders a 405 with the code is_succeeded', () => {
    const result = toLagoError(notAllowed('is_succeeded'));
    expect(result.statusCode).toBe(405);
    expect(result.body).toBe('{"status":405,"error":"Method Not Allowed","code":"is_succeeded"}');
  });

  it('renders a 422 with validation_errors and error_details', () => {
    const result = toLagoError(
      validationFailed({ webhook_url: ['url_is_invalid'], event_types: ['value_is_invalid'] }),
    );
    expect(result.statusCode).toBe(422);
    expect(bodyOf(result)).toEqual({
      status: 422,
      error: 'Unprocessable Entity',
      code: 'validation_errors',
      error_details: { webhook_url: ['url_is_invalid'], event_types: ['value_is_invalid'] },
    });
  });

  it('renders a 409 with its code and message, and Retry-After when the error says when to try again', () => {
    const result = toLagoError(conflict('hmac_key_rotated_concurrently', 'rotated meanwhile', 1));
    expect(result.statusCode).toBe(409);
    expect(result.headers).toEqual({ 'content-type': 'application/json; charset=utf-8', 'retry-after': '1' });
    expect(bodyOf(result)).toEqual({
      status: 409,
      error: 'Conflict',
      code: 'hmac_key_rotated_concurrently',
      message: 'rotated meanwhile',
    });
    expect(toLagoError(conflict('hmac_key_unusable', 'retired')).headers).toEqual({
      'content-type': 'application/json; charset=utf-8',
    });
  });

  it('renders 403, 413 and 503 with their reasons', () => {
    expect(bodyOf(toLagoError(new ApiError('forbidden', { code: 'feature_unavailable' })))).toEqual({
      status: 403,
      error: 'Forbidden',
      code: 'feature_unavailable',
    });
    expect(toLagoError(payloadTooLarge('too big')).statusCode).toBe(413);
    expect(bodyOf(toLagoError(payloadTooLarge('too big')))).toEqual({
      status: 413,
      error: 'Payload Too Large',
      message: 'too big',
    });
    expect(bodyOf(toLagoError(unavailable('try later')))).toEqual({
      status: 503,
      error: 'Service Unavailable',
      message: 'try later',
    });
  });
});

describe('jsonBody', () => {
  it('parses a JSON body and treats an absent one as {}', () => {
    expect(jsonBody(event({ body: '{"a":[1,"é"]}' }))).toEqual({ a: [1, 'é'] });
    expect(jsonBody(event())).toEqual({});
    expect(jsonBody(event({ body: '' }))).toEqual({});
  });

  it('decodes base64 bodies', () => {
    const body = Buffer.from('{"webhook_endpoint":{"name":"Zoë"}}', 'utf8').toString('base64');
    expect(jsonBody(event({ body, isBase64Encoded: true }))).toEqual({ webhook_endpoint: { name: 'Zoë' } });
  });

  it('turns invalid JSON into a 400 in Lago shape', () => {
    for (const body of ['{', 'not json', '{"a":1}}']) {
      let caught: unknown;
      try {
        jsonBody(event({ body }));
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ApiError);
      const result = toLagoError(caught as ApiError);
      expect(result.statusCode).toBe(400);
      expect(bodyOf(result)).toEqual({ status: 400, error: 'BadRequest: the request body is not valid JSON' });
    }
  });

  it('turns an oversize body into a 413, also when base64 encoded', () => {
    const big = JSON.stringify({ pad: 'x'.repeat(MAX_REQUEST_BYTES) });
    for (const e of [
      event({ body: big }),
      event({ body: Buffer.from(big).toString('base64'), isBase64Encoded: true }),
    ]) {
      expect(() => jsonBody(e)).toThrow(expect.objectContaining({ kind: 'payload_too_large' }));
    }
    const justFits = JSON.stringify({ pad: 'x'.repeat(MAX_REQUEST_BYTES - 20) });
    expect(jsonBody(event({ body: justFits }))).toEqual({ pad: 'x'.repeat(MAX_REQUEST_BYTES - 20) });
  });
});

describe('the JSON depth limit', () => {
  const nested = (levels: number) => `${'{"a":'.repeat(levels - 1)}[1]${'}'.repeat(levels - 1)}`;

  it('counts nesting without recursion, ignoring brackets inside strings', () => {
    expect(jsonDepth('1')).toBe(0);
    expect(jsonDepth('{"a":[{"b":"[[[{{{\\"]]]"}]}')).toBe(3);
    expect(jsonDepth(nested(200_000))).toBe(200_000);
  });

  it(`accepts ${MAX_JSON_DEPTH} levels and answers a deeper body with a 400 in Lago shape`, () => {
    expect(jsonBody(event({ body: nested(MAX_JSON_DEPTH) }))).toBeTypeOf('object');
    for (const body of [nested(MAX_JSON_DEPTH + 1), nested(4_400), '['.repeat(400_000)]) {
      let caught: unknown;
      try {
        jsonBody(event({ body }));
      } catch (error) {
        caught = error;
      }
      expect(bodyOf(toLagoError(caught as ApiError))).toEqual({
        status: 400,
        error: `BadRequest: the request body is nested deeper than ${MAX_JSON_DEPTH} levels`,
      });
    }
  });
});

describe('bearerToken', () => {
  it('takes "Bearer", ASCII spaces and a token, and nothing else', () => {
    expect(bearerToken('Bearer abc_-.~+/9==')).toBe('abc_-.~+/9==');
    expect(bearerToken('bearer    abc')).toBe('abc');
    for (const bad of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      'Bearer\u00a0abc',
      'Bearer\tabc',
      'Bearer abc def',
      'Bearer ab\u00e9',
      'Bearer abc\u0000',
      'Basic abc',
      'Bearerabc',
    ]) {
      expect(bearerToken(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });
});

describe('header', () => {
  it('finds a header whatever its case', () => {
    expect(header(event({ headers: { Authorization: 'Bearer x' } }), 'authorization')).toBe('Bearer x');
    expect(header(event(), 'authorization')).toBeUndefined();
  });
});

describe('pathParam', () => {
  it('returns the decoded parameter', () => {
    expect(pathParam(event({ pathParameters: { lago_id: 'a%20b' } }), 'lago_id')).toBe('a b');
  });

  it('answers 400 when the parameter is missing', () => {
    expect(() => pathParam(event(), 'lago_id')).toThrow(expect.objectContaining({ kind: 'bad_request' }));
  });
});

describe('router', () => {
  it('dispatches on the route key', async () => {
    const { logger } = recordingLogger();
    const handle = router({ 'GET /ping': async () => json(200, { pong: true }) }, logger);
    const result = await handle(event({ routeKey: 'GET /ping' }));
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual({ pong: true });
  });

  it('answers 404 route_not_found for an unknown route', async () => {
    const result = await router({}, recordingLogger().logger)(event({ routeKey: 'GET /nowhere' }));
    expect(result.statusCode).toBe(404);
    expect(bodyOf(result)).toEqual({ status: 404, error: 'Not Found', code: 'route_not_found' });
  });

  it('turns ApiErrors into Lago errors', async () => {
    const handle = router({ 'GET /x': async () => Promise.reject(notFound('webhook')) }, recordingLogger().logger);
    const result = await handle(event({ routeKey: 'GET /x' }));
    expect(result.statusCode).toBe(404);
    expect(bodyOf(result)).toEqual({ status: 404, error: 'Not Found', code: 'webhook_not_found' });
  });

  it('answers an unexpected error with a bare 500, logs it and never leaks its message', async () => {
    const { logger, errors } = recordingLogger();
    const handle = router(
      {
        'GET /x': async () => {
          throw new Error('connect ECONNREFUSED db-password=hunter2');
        },
      },
      logger,
    );
    const result = await handle(event({ routeKey: 'GET /x' }));
    expect(result.statusCode).toBe(500);
    expect(result.body).toBe('{"status":500,"error":"Internal Server Error"}');
    expect(result.body).not.toContain('hunter2');
    expect(errors).toHaveLength(1);
  });

  it('answers an AWS throttle that outlasted the SDK retries with a 503 and Retry-After, not a 500', async () => {
    const throttle = (name: string) => Object.assign(new Error('Rate exceeded'), { name });
    const cancelled = new TransactionCanceledException({
      message: 'Transaction cancelled',
      $metadata: {},
      CancellationReasons: [{ Code: 'None' }, { Code: 'ThrottlingError' }],
    });
    for (const error of [
      throttle('ThrottlingException'),
      throttle('ProvisionedThroughputExceededException'),
      cancelled,
    ]) {
      const { logger, errors } = recordingLogger();
      const result = await router(
        { 'GET /x': async () => Promise.reject(error) },
        logger,
      )(event({ routeKey: 'GET /x' }));
      expect(result.statusCode, error.name).toBe(503);
      expect(result.headers?.['retry-after']).toBe('1');
      expect(bodyOf(result)).toEqual({
        status: 503,
        error: 'Service Unavailable',
        code: 'throttled',
        message: 'the service is busy; nothing was done, retry shortly',
      });
      expect(errors).toHaveLength(0);
    }
    // A cancelled transaction for another reason (a condition) is no throttle.
    const conditional = new TransactionCanceledException({
      message: 'Transaction cancelled',
      $metadata: {},
      CancellationReasons: [{ Code: 'ConditionalCheckFailed' }],
    });
    const result = await router(
      { 'GET /x': async () => Promise.reject(conditional) },
      recordingLogger().logger,
    )(event({ routeKey: 'GET /x' }));
    expect(result.statusCode).toBe(500);
  });

  // Fails today: decodeURIComponent throws URIError on malformed escapes, which the router turns into a 500.
  it('answers a malformed percent-encoded path parameter with a 400, not a 500', async () => {
    const handle = router(
      { 'GET /api/v1/webhook_endpoints/{lago_id}': async (e) => json(200, { id: pathParam(e, 'lago_id') }) },
      recordingLogger().logger,
    );
    for (const raw of ['%', '%E0%A4%A', 'abc%zz']) {
      const result = await handle(event({ pathParameters: { lago_id: raw } }));
      expect(result.statusCode, raw).toBe(400);
      expect(bodyOf(result)).toMatchObject({ status: 400 });
    }
  });
});
