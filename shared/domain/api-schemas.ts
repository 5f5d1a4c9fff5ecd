import { z } from 'zod';
import { badRequest, validationFailed, type ValidationDetails } from './errors.ts';
import { WEBHOOK_TYPES } from './catalog/event-types.ts';
import { MAX_ROTATION_OVERLAP_SECONDS } from './organizations/tokens.ts';

/**
 * The shapes of the API's requests and responses, as zod schemas: the OpenAPI document
 * (shared/runtime/openapi.ts) is generated from them. Routes validated by hand (shared/domain/endpoints/endpoints.ts,
 * shared/domain/webhooks/, shared/domain/organizations/tokens.ts) keep their own checks and error codes; these schemas
 * describe what those checks accept. New routes validate with `parseBody`, so the schema that
 * documents a body is the one that checks it.
 */

/** Each schema here is a named component of the document. */
export const components = z.registry<{ id: string }>();
/** What a component is, by id (field descriptions come from `.describe()`). */
export const descriptions = new Map<string, string>();

function named<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  components.add(schema, { id });
  if (description) descriptions.set(id, description);
  return schema;
}

const timestamp = z.iso.datetime();
const uuid = z.uuid();
const whole = z.number().int().min(0);
const Status = z.enum(['pending', 'retrying', 'succeeded', 'failed']);

// Errors, in Lago's shape (shared/runtime/http.ts lagoError).

export const LagoError = named(
  'LagoError',
  z.object({
    status: z.number().int(),
    error: z.string(),
    code: z.string().optional(),
    message: z.string().optional(),
    error_details: z.record(z.string(), z.array(z.string())).optional(),
  }),
  "Lago's error shape. 400: `error` tells what is wrong; 401: `error` only; 404, 405: a `code` such as `webhook_endpoint_not_found`; 413, 503: a `message`.",
);

export const ValidationError = named(
  'ValidationError',
  z.object({
    status: z.literal(422),
    error: z.literal('Unprocessable Entity'),
    code: z.literal('validation_errors'),
    error_details: z.record(z.string(), z.array(z.string())),
  }),
  "Lago's 422: the codes (`value_is_mandatory`, `value_is_invalid`, …) of each field refused.",
);

// Webhook endpoints.

const SignatureAlgo = z.enum(['jwt', 'hmac']);

const WebhookEndpoint = named(
  'WebhookEndpoint',
  z.object({
    lago_id: uuid,
    lago_organization_id: uuid,
    webhook_url: z.string(),
    signature_algo: SignatureAlgo,
    name: z.string().nullable(),
    event_types: z.array(z.string()).nullable().describe('null: every type'),
    created_at: timestamp,
    disabled: z
      .boolean()
      .describe('Beyond Lago: a disabled endpoint gets no new webhooks; its queued ones wait until it is enabled'),
    disabled_at: timestamp.nullable(),
    disabled_reason: z.string().nullable().describe('Why: by request, or automatically after days of failed attempts'),
    failing_since: timestamp.nullable().describe('Since when every attempt has failed'),
    headers: z
      .record(z.string(), z.string())
      .nullable()
      .describe('Custom headers sent on every attempt; values masked unless `reveal_headers=true`'),
  }),
);

const endpointFields = {
  webhook_url: z.string().max(2048).describe('http(s) URL; a literal address must be public'),
  signature_algo: SignatureAlgo.nullable().optional().describe('jwt (default) or hmac'),
  name: z.string().max(255).nullable().optional(),
  event_types: z
    .array(z.string())
    .nullable()
    .optional()
    .describe('Types from GET /api/v1/webhook_event_types; null or ["*"] for every type'),
  disabled: z.boolean().optional().describe('Beyond Lago: disable or enable the endpoint'),
  headers: z
    .record(z.string(), z.string())
    .nullable()
    .optional()
    .describe(
      'Beyond Lago: up to 10 custom headers (values up to 1 KB; X-Lago-*, webhook-*, Content-*, Host, User-Agent and hop-by-hop names are refused); a masked value sent back keeps the stored one; null removes them',
    ),
};

export const CreateEndpointRequest = named(
  'CreateEndpointRequest',
  z.object({ webhook_endpoint: z.object(endpointFields) }),
);
export const UpdateEndpointRequest = named(
  'UpdateEndpointRequest',
  z.object({ webhook_endpoint: z.object(endpointFields).partial() }),
);
export const EndpointResponse = named('EndpointResponse', z.object({ webhook_endpoint: WebhookEndpoint }));

const PageMeta = named(
  'PageMeta',
  z.object({
    current_page: z.number().int(),
    next_page: z.number().int().nullable(),
    prev_page: z.number().int().nullable(),
    total_pages: whole,
    total_count: whole,
  }),
);
export const EndpointList = named(
  'EndpointList',
  z.object({ webhook_endpoints: z.array(WebhookEndpoint), meta: PageMeta }),
);

// Signing keys.

export const JsonPublicKey = named(
  'JsonPublicKey',
  z.object({ webhook: z.object({ public_key: z.string().describe('Base64 of the PEM') }) }),
);

export const HmacKey = named(
  'HmacKey',
  z.object({
    webhook: z.object({
      hmac_key: z.string(),
      standard_webhooks_secret: z.string(),
      previous_hmac_key: z.string().optional().describe("While a rotation's overlap lasts"),
      previous_standard_webhooks_secret: z.string().optional(),
      previous_expires_at: timestamp.optional(),
    }),
  }),
);

export const RotateRequest = named(
  'RotateRequest',
  z.object({
    overlap_seconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_ROTATION_OVERLAP_SECONDS)
      .nullable()
      .optional()
      .describe('How long the previous token stays valid; 24 h by default'),
  }),
);

// The event catalog.

export const WebhookEventTypes = named(
  'WebhookEventTypes',
  z.object({
    webhook_event_types: z.array(
      z.object({
        key: z.enum(WEBHOOK_TYPES),
        name: z.string(),
        description: z.string(),
        category: z.string(),
        deprecated: z.boolean(),
      }),
    ),
  }),
);

// Webhook logs.

const Attempt = z.object({
  number: z.number().int().min(1),
  at: timestamp,
  http_status: z.number().int().nullable(),
  error: z.string().nullable(),
  duration_ms: z.number().min(0),
});

const summaryFields = {
  lago_id: uuid,
  lago_organization_id: uuid,
  lago_webhook_endpoint_id: uuid,
  webhook_url: z.string(),
  webhook_type: z.string(),
  object_type: z.string(),
  object_id: z.string().nullable(),
  unique_key: z.string(),
  status: Status,
  http_status: z.number().int().nullable(),
  retries: whole,
  attempts_count: whole,
  last_retried_at: timestamp.nullable(),
  next_attempt_at: timestamp.nullable(),
  test: z.boolean().describe('Sent by POST /api/v1/webhook_endpoints/{lago_id}/test'),
  created_at: timestamp,
  updated_at: timestamp,
};

const WebhookSummary = named('WebhookSummary', z.object(summaryFields));
const WebhookDetail = named(
  'WebhookDetail',
  z.object({
    ...summaryFields,
    payload: z.record(z.string(), z.unknown()).describe('The JSON body sent, as signed'),
    response: z.string().nullable(),
    error: z.string().nullable(),
    attempts: z.array(Attempt),
  }),
);
export const WebhookResponse = named('WebhookResponse', z.object({ webhook: WebhookDetail }));
export const WebhookList = named(
  'WebhookList',
  z.object({
    webhooks: z.array(WebhookSummary),
    meta: z.object({ per_page: z.number().int(), next_cursor: z.string().nullable() }),
  }),
);

export const RecoverRequest = named(
  'RecoverRequest',
  z.object({
    webhook_endpoint_id: uuid,
    from_date: z.string().describe('ISO 8601 date or time'),
    to_date: z.string().describe('ISO 8601 date or time, at most 14 days after from_date'),
  }),
);
export const RecoverResult = named('RecoverResult', z.object({ recovered: whole, has_more: z.boolean() }));

export const TestEventRequest = named(
  'TestEventRequest',
  z.object({ webhook_type: z.enum(WEBHOOK_TYPES).describe('A type of the catalog') }),
);

// Operator routes.

export const OrganizationRequest = named('OrganizationRequest', z.object({ name: z.string().min(1).max(255) }));
export const OrganizationCreated = named(
  'OrganizationCreated',
  z.object({
    organization: z.object({ lago_id: uuid, name: z.string(), created_at: timestamp }),
    api_key: z.string().describe('Shown once'),
  }),
);

export const PublishRequest = named(
  'PublishRequest',
  z.object({
    organization_id: uuid,
    webhook_type: z.enum(WEBHOOK_TYPES),
    object_type: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
    object: z.record(z.string(), z.unknown()),
    idempotency_key: z.string().min(1).max(255).nullable().optional(),
  }),
);
const Published = z.array(
  z.object({ lago_id: uuid, lago_webhook_endpoint_id: uuid, webhook_url: z.string(), status: Status }),
);
export const PublishResult = named('PublishResult', z.object({ webhooks: Published }));
export const BatchRequest = named('BatchRequest', z.object({ events: z.array(PublishRequest).min(1).max(100) }));
export const BatchResult = named(
  'BatchResult',
  z.object({
    results: z.array(
      z.union([
        z.object({ index: whole, status: z.literal(202), webhooks: Published }),
        z.object({ index: whole, status: z.number().int().min(400), error: LagoError }),
      ]),
    ),
  }),
);
export const DeadLetters = named(
  'DeadLetters',
  z.object({ dead_letters: z.object({ count: whole, oldest_age_seconds: z.number().min(0).nullable() }) }),
);
export const RedriveRequest = named('RedriveRequest', z.object({}));
export const RedriveResult = named(
  'RedriveResult',
  z.object({ redrive: z.object({ moved: whole, running: z.boolean() }) }),
);

/**
 * A body checked against its schema, refusals in Lago's shape: not an object is a 400; a missing
 * field is `value_is_mandatory`, any other problem `value_is_invalid`, under the field's name.
 */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body must be a JSON object');
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const details: ValidationDetails = {};
  for (const issue of result.error.issues) {
    const field = issue.path.map(String).join('.') || 'base';
    const value = issue.path.reduce<unknown>(
      (at, key) => (typeof at === 'object' && at !== null ? (at as Record<PropertyKey, unknown>)[key] : undefined),
      body,
    );
    const code = value === undefined || value === null ? 'value_is_mandatory' : 'value_is_invalid';
    if (!details[field]?.includes(code)) (details[field] ??= []).push(code);
  }
  throw validationFailed(details);
}
