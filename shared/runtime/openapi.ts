import { z } from 'zod';
import type { RouteDefinition } from '#shared/runtime/routes.ts';
import * as S from '../domain/api-schemas.ts';
import { CreateEndpointRequest, EndpointQuery, UpdateEndpointRequest } from '../domain/endpoints/schemas.ts';
import { OrganizationRequest, PortalSessionRequest, RotateRequest } from '../domain/organizations/schemas.ts';
import { PageQuery } from '../domain/pagination.ts';
import { components, documentation } from '../domain/validation.ts';
import {
  BatchRequest,
  PublishRequest,
  RecoverRequest,
  RedriveRequest,
  ReplayRequest,
  TestEventRequest,
  WebhookListQuery,
} from '../domain/webhooks/schemas.ts';

/**
 * The OpenAPI 3.1 document of the service, served at GET /api/v1/openapi.json. The routes come
 * from the one route table (shared/runtime/routes.ts); each is described here. Its bodies and query parameters are
 * the zod schemas that parse them (shared/domain/*\/schemas.ts) and those of the responses
 * (shared/domain/api-schemas.ts), turned into JSON Schema 2020-12 by zod itself.
 */

type Schema = z.ZodType;
interface Reply {
  description: string;
  schema?: Schema;
  /** A text/plain body. */
  text?: boolean;
  /** Response headers, by name, each a whole number of seconds or requests. */
  headers?: Record<string, string>;
}
interface Operation {
  summary: string;
  description?: string;
  body?: Schema;
  /** An absent body reads as `{}`, which this route accepts. */
  bodyOptional?: boolean;
  /** The query's parameters, one per field. */
  query?: z.ZodObject;
  responses: Record<number, Reply>;
}

const ok = (schema: Schema, description = 'OK'): Reply => ({ description, schema });
const notFound = (what: string): Reply => ({
  description: `No such ${what} in this organization (\`${what.replaceAll(' ', '_')}_not_found\`)`,
  schema: S.LagoError,
});
const invalid: Reply = { description: 'Validation failed', schema: S.ValidationError };
const conflicted = (description: string): Reply => ({ description, schema: S.LagoError });
const HEADER_KEY_RETIRED = conflicted(
  "A custom header's stored value cannot be opened, its seal key retired by the operator or its seal broken (`custom_header_unusable`): send its value again",
);
/** The organization routes with a rate limit (shared/domain/organizations/rate-limits.ts). */
const rateLimited = (limit: string): Reply => ({
  description: `Over the organization's limit of ${limit} (\`rate_limited\`): nothing was done; wait \`Retry-After\` seconds`,
  schema: S.LagoError,
  headers: {
    'Retry-After': 'Seconds until the window resets',
    'X-RateLimit-Limit': 'Requests the window allows',
    'X-RateLimit-Remaining': 'Requests left in the window: 0',
    'X-RateLimit-Reset': 'Seconds until the window resets, as Lago sends it',
  },
});

/** What each route does, by route key. A route of shared/runtime/routes.ts missing here is listed by `undescribedRoutes` (a unit test keeps that empty). */
const OPERATIONS: Record<string, Operation> = {
  'POST /api/v1/webhook_endpoints': {
    summary: 'Create a webhook endpoint',
    description: 'At most 10 per organization, each URL once.',
    body: CreateEndpointRequest,
    responses: { 200: ok(S.EndpointResponse), 422: invalid },
  },
  'GET /api/v1/webhook_endpoints': {
    summary: 'List the webhook endpoints',
    query: PageQuery,
    responses: { 200: ok(S.EndpointList), 422: invalid },
  },
  'GET /api/v1/webhook_endpoints/{lago_id}': {
    summary: 'Read a webhook endpoint',
    query: EndpointQuery,
    responses: { 200: ok(S.EndpointResponse), 404: notFound('webhook endpoint'), 409: HEADER_KEY_RETIRED },
  },
  'PUT /api/v1/webhook_endpoints/{lago_id}': {
    summary: 'Update a webhook endpoint',
    description: 'Fields left out keep their value.',
    body: UpdateEndpointRequest,
    responses: {
      200: ok(S.EndpointResponse),
      404: notFound('webhook endpoint'),
      409: HEADER_KEY_RETIRED,
      422: invalid,
    },
  },
  'DELETE /api/v1/webhook_endpoints/{lago_id}': {
    summary: 'Delete a webhook endpoint',
    description: 'Its delivery log stays readable.',
    responses: { 200: ok(S.EndpointResponse), 404: notFound('webhook endpoint') },
  },
  'POST /api/v1/webhook_endpoints/{lago_id}/test': {
    summary: 'Send a test event',
    description:
      'Sends a signed example of `webhook_type` to this endpoint only, whatever types it listens to. It is logged like any webhook, with `test: true`.',
    body: TestEventRequest,
    responses: {
      200: ok(S.WebhookResponse, 'The test webhook, queued'),
      404: notFound('webhook endpoint'),
      422: invalid,
      429: rateLimited('test events a minute, per organization and per endpoint'),
    },
  },
  'POST /api/v1/webhook_endpoints/{lago_id}/replay': {
    summary: 'Send the webhooks of a window again to this endpoint',
    description:
      "Every event of the organization created in the window (at most 14 days) whose type this endpoint listens to, succeeded ones included: the endpoint's own webhook of the event is resent under its unique key (one still pending or retrying is left alone); an event it never had gets a webhook of its own, from another endpoint's copy. Counts against recover's limit.",
    body: ReplayRequest,
    responses: {
      202: ok(S.ReplayResult, 'Queued'),
      404: notFound('webhook endpoint'),
      409: conflicted('The endpoint is disabled (`webhook_endpoint_disabled`): enable it first'),
      422: invalid,
      429: rateLimited('recover and replay calls an hour'),
    },
  },
  'GET /api/v1/webhooks/public_key': {
    summary: 'The JWT public key (base64 of the PEM)',
    responses: { 200: { description: 'The key', text: true } },
  },
  'GET /api/v1/webhooks/json_public_key': {
    summary: 'The JWT public key, as JSON',
    responses: { 200: ok(S.JsonPublicKey) },
  },
  'GET /api/v1/webhooks/jwks.json': {
    summary: 'The JWT public keys, as a JSON Web Key Set',
    description:
      'Every published key: the one signing now, and during a rotation of the deployment key the one before or after it. JWTs carry no `kid` (their header is Lago\'s, `{"alg":"RS256"}`): verify with each key in turn.',
    responses: { 200: ok(S.Jwks) },
  },
  'GET /api/v1/webhooks/hmac_key': {
    summary: 'The HMAC token',
    description: "With the previous tokens and their expiry while rotations' overlaps last.",
    responses: {
      200: ok(S.HmacKey),
      409: conflicted(
        'The token cannot be had, its HMAC root retired by the operator or its seal broken (`hmac_key_unusable`): rotate it',
      ),
    },
  },
  'POST /api/v1/webhooks/hmac_key/rotate': {
    summary: 'Rotate the HMAC token',
    description:
      'X-Lago-Signature moves to the new token at once; webhook-signature carries every live token until each previous one expires. Up to 5 previous tokens stay valid at once, each for its own overlap.',
    body: RotateRequest,
    bodyOptional: true,
    responses: {
      200: ok(S.HmacKey),
      409: conflicted(
        'Another rotation happened meanwhile (`hmac_key_rotated_concurrently`), or 5 previous tokens are still valid (`too_many_previous_hmac_keys`, unless `overlap_seconds` is 0); `Retry-After` says when to try again',
      ),
      422: invalid,
      429: rateLimited('rotations an hour'),
    },
  },
  'GET /api/v1/webhooks': {
    summary: 'Search the webhook logs',
    description: 'Newest first, a page at a time: pass `meta.next_cursor` as `cursor` for the next page.',
    query: WebhookListQuery,
    responses: { 200: ok(S.WebhookList), 422: invalid },
  },
  'GET /api/v1/webhook_event_types': { summary: 'The event catalog', responses: { 200: ok(S.WebhookEventTypes) } },
  'POST /api/v1/webhooks/recover': {
    summary: 'Queue again the failed webhooks of an endpoint in a window',
    body: RecoverRequest,
    responses: {
      200: ok(S.RecoverResult),
      404: notFound('webhook endpoint'),
      422: invalid,
      429: rateLimited('recover calls an hour'),
    },
  },
  'GET /api/v1/webhooks/{lago_id}': {
    summary: 'A webhook, with its payload and attempts',
    responses: { 200: ok(S.WebhookResponse), 404: notFound('webhook') },
  },
  'POST /api/v1/webhooks/{lago_id}/retry': {
    summary: "Retry a failed webhook, or make a retrying one's next attempt now",
    description:
      "As Lago: a succeeded webhook is a 405 (`is_succeeded`). A failed webhook starts a new round. Beyond Lago, a retrying webhook makes its next attempt now, in its round (the old schedule's message is dropped); one pending, due within 2 s, or parked is left alone.",
    responses: {
      200: ok(S.WebhookResponse),
      404: notFound('webhook'),
      405: { description: 'The webhook succeeded (`is_succeeded`)', schema: S.LagoError },
      429: rateLimited('retries and resends a minute'),
    },
  },
  'POST /api/v1/webhooks/{lago_id}/resend': {
    summary: 'Deliver a webhook again, whatever its outcome',
    description: 'A new round under the same unique key.',
    responses: {
      200: ok(S.WebhookResponse),
      404: notFound('webhook'),
      429: rateLimited('retries and resends a minute'),
    },
  },
  'GET /api/v1/openapi.json': {
    summary: 'This document',
    responses: { 200: { description: 'The OpenAPI 3.1 document', schema: z.record(z.string(), z.unknown()) } },
  },
  'POST /admin/v1/organizations': {
    summary: 'Create an organization and its API key',
    body: OrganizationRequest,
    responses: { 201: ok(S.OrganizationCreated, 'Created'), 422: invalid },
  },
  'POST /admin/v1/organizations/{lago_id}/portal_sessions': {
    summary: 'Make a portal link: the console signed in as the organization, for a while',
    description:
      "The token is a JWT that also works as `Authorization: Bearer` on /api/v1: a `viewer` reads endpoints and deliveries but no secret and changes nothing (403 `forbidden_for_viewer`); a `manager` has the API key's rights.",
    body: PortalSessionRequest,
    bodyOptional: true,
    responses: {
      201: ok(S.PortalSessionCreated, 'Created'),
      404: {
        description:
          'No such organization (`organization_not_found`), or no such endpoint in it (`webhook_endpoint_not_found`)',
        schema: S.LagoError,
      },
      422: invalid,
    },
  },
  'POST /admin/v1/organizations/{lago_id}/portal_sessions/revoke': {
    summary: 'Revoke every portal session of the organization made so far',
    responses: { 200: ok(S.PortalSessionsRevoked), 404: notFound('organization') },
  },
  'POST /admin/v1/webhooks': {
    summary: 'Publish an event',
    description:
      'One webhook per endpoint of the organization that listens to the type. The same `idempotency_key` again answers with the same webhooks.',
    body: PublishRequest,
    responses: { 202: ok(S.PublishResult, 'Queued'), 404: notFound('organization'), 422: invalid },
  },
  'POST /admin/v1/webhooks/batch': {
    summary: 'Publish up to 100 events',
    description:
      "Each event is published or refused on its own; its result carries its status and, if refused, Lago's error body.",
    body: BatchRequest,
    responses: { 200: ok(S.BatchResult) },
  },
  'GET /admin/v1/dead_letters': { summary: "The dead-letter queue's size", responses: { 200: ok(S.DeadLetters) } },
  'POST /admin/v1/dead_letters/redrive': {
    summary: 'Send the dead letters back for delivery',
    body: RedriveRequest,
    bodyOptional: true,
    responses: { 200: ok(S.RedriveResult, 'Moved'), 202: ok(S.RedriveResult, 'SQS is moving them (AWS)') },
  },
};

type Access = 'organization' | 'operator' | 'public';
const accessOf = (route: RouteDefinition): Access =>
  route.fn === 'admin' ? 'operator' : route.public ? 'public' : 'organization';

const COMMON: Record<number, Reply> = {
  400: {
    description:
      'The request cannot be read (not JSON, not an object, nested too deeply, without its `webhook_endpoint` object, a batch without 1 to 100 events)',
    schema: S.LagoError,
  },
  413: { description: 'The body exceeds 512 KiB', schema: S.LagoError },
  500: { description: 'An unexpected error (logged)', schema: S.LagoError },
  503: { description: 'Busy or partly done: retry (the `message` tells)', schema: S.LagoError },
};

const UNAUTHORIZED: Record<Access, Reply | undefined> = {
  organization: {
    description: 'No valid organization API key or portal session token (expired, revoked, altered)',
    schema: S.LagoError,
  },
  operator: {
    description:
      'No valid operator credentials (local: the admin token; on AWS, API Gateway answers 403 to an unsigned request)',
    schema: S.LagoError,
  },
  public: undefined,
};

/** What a portal session's viewer may not call: every change, the HMAC token, the custom headers' values. */
const refusedToViewer = (route: RouteDefinition) =>
  route.method !== 'GET' ||
  route.path === '/api/v1/webhooks/hmac_key' ||
  route.path === '/api/v1/webhook_endpoints/{lago_id}';
const FORBIDDEN_TO_VIEWER: Reply = {
  description:
    "A portal session's viewer (`forbidden_for_viewer`): it reads endpoints and deliveries, never a secret (here: a change, the HMAC token, or `reveal_headers=true`)",
  schema: S.LagoError,
};

/** A route no one has described yet still appears, with its errors only, rather than failing the whole document. */
const UNDESCRIBED: Operation = { summary: 'Not described yet', responses: {} };

function componentSchemas(): Record<string, Record<string, unknown>> {
  const uri = (id: string) => `#/components/schemas/${id}`;
  // Requests are documented as sent, and accept keys they do not know (as the handlers do); responses as answered,
  // listing every key. A request's own checks (a transform, a JSON object passed on as sent) have no JSON Schema.
  const options = { target: 'draft-2020-12', uri, unrepresentable: 'any' } as const;
  const inputs = z.toJSONSchema(components, { ...options, io: 'input' }).schemas;
  const outputs = z.toJSONSchema(components, { ...options, io: 'output' }).schemas;
  return Object.fromEntries(
    Object.keys(outputs).map((id) => {
      const {
        $schema: _s,
        $id: _i,
        ...schema
      } = (id.endsWith('Request') ? inputs : outputs)[id] as Record<string, unknown>;
      const { description, examples } = documentation.get(id) ?? {};
      return [id, { ...(description ? { description } : {}), ...schema, ...(examples ? { examples } : {}) }];
    }),
  );
}

/** A query's fields as parameters, with the query's example values. */
function queryParameters(query: z.ZodObject) {
  const { properties = {}, required = [] } = z.toJSONSchema(query, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
  }) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  const [example] = (z.globalRegistry.get(query)?.examples ?? []) as Record<string, unknown>[];
  return Object.entries(properties).map(([name, { description, ...schema }]) => ({
    name,
    in: 'query',
    required: required.includes(name),
    ...(description ? { description } : {}),
    schema,
    ...(example?.[name] !== undefined ? { example: example[name] } : {}),
  }));
}

function idOf(schema: Schema): string | undefined {
  return components.get(schema)?.id;
}

function schemaObject(schema: Schema): Record<string, unknown> {
  const id = idOf(schema);
  if (id) return { $ref: `#/components/schemas/${id}` };
  const { $schema: _s, ...inline } = z.toJSONSchema(schema, { target: 'draft-2020-12' }) as Record<string, unknown>;
  return inline;
}

function response(reply: Reply) {
  if (reply.text) return { description: reply.description, content: { 'text/plain': { schema: { type: 'string' } } } };
  const headers = Object.entries(reply.headers ?? {}).map(([name, description]) => [
    name,
    { description, schema: { type: 'integer', minimum: 0 } },
  ]);
  return {
    description: reply.description,
    ...(headers.length ? { headers: Object.fromEntries(headers) } : {}),
    ...(reply.schema ? { content: { 'application/json': { schema: schemaObject(reply.schema) } } } : {}),
  };
}

function operation(route: RouteDefinition, spec: Operation) {
  const access = accessOf(route);
  const params = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name: name!,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const replies: Record<number, Reply> = { ...spec.responses, ...COMMON };
  const refused = UNAUTHORIZED[access];
  if (refused) replies[401] = refused;
  if (access === 'organization' && refusedToViewer(route)) replies[403] = FORBIDDEN_TO_VIEWER;
  return {
    operationId: `${route.method.toLowerCase()}${route.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: [access === 'operator' ? 'operator' : 'organization'],
    security: access === 'public' ? [] : [{ [access]: [] }],
    ...(params.length || spec.query
      ? {
          parameters: [...params, ...(spec.query ? queryParameters(spec.query) : [])],
        }
      : {}),
    ...(spec.body
      ? {
          requestBody: {
            required: !spec.bodyOptional,
            content: { 'application/json': { schema: schemaObject(spec.body) } },
          },
        }
      : {}),
    responses: Object.fromEntries(
      Object.entries(replies)
        .sort(([a], [b]) => Number(a) - Number(b))
        .map(([status, reply]) => [status, response(reply)]),
    ),
  };
}

/** The routes the document describes: the organization and operator API (not the console's static files). */
const documentedRoutes = (routes: readonly RouteDefinition[]) => routes.filter((route) => route.fn !== 'console');

/** Routes of the table that OPERATIONS does not describe. */
export const undescribedRoutes = (routes: readonly RouteDefinition[]): string[] =>
  documentedRoutes(routes)
    .map((route) => `${route.method} ${route.path}`)
    .filter((key) => !OPERATIONS[key]);

export function openApiDocument(routes: readonly RouteDefinition[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of documentedRoutes(routes)) {
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(
      route,
      OPERATIONS[`${route.method} ${route.path}`] ?? UNDESCRIBED,
    );
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Lago-compatible webhooks',
      version: '1',
      description:
        "Lago's webhook endpoint and webhook routes (/api/v1, with an organization API key) and the operator's routes (/admin/v1). Errors are in Lago's shape.",
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: [
      { name: 'organization', description: 'Called with an organization API key (`Authorization: Bearer lwh_…`)' },
      { name: 'operator', description: "The operator's routes" },
    ],
    paths,
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        organization: {
          type: 'http',
          scheme: 'bearer',
          description:
            "The organization's API key, from POST /admin/v1/organizations, or a portal session's token (a JWT, POST /admin/v1/organizations/{lago_id}/portal_sessions)",
        },
        operator: {
          type: 'http',
          scheme: 'bearer',
          description:
            'Locally, the admin token; on AWS these routes are behind IAM instead: sign the request with SigV4 (execute-api:Invoke)',
        },
      },
    },
  };
}
