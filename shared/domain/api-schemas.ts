import { z } from 'zod';
import { WEBHOOK_TYPES } from './catalog/event-types.ts';
import { WEBHOOK_STATUSES } from './model.ts';
import { named } from './validation.ts';

/**
 * The API's responses, as zod schemas: the OpenAPI document (shared/runtime/openapi.ts) is generated from them, the
 * integration tests check every answer against it, and the console takes its types from them
 * (`z.infer<typeof EndpointResponse>`). The requests' schemas, which parse what they document, sit with their features
 * (`endpoints/schemas.ts`, `webhooks/schemas.ts`, `organizations/schemas.ts`, `pagination.ts`).
 *
 * This module and what it imports use no Node API, so the browser console can import it.
 */

const timestamp = z.iso.datetime();
const uuid = z.uuid();
const whole = z.number().int().min(0);
const Status = z.enum(WEBHOOK_STATUSES);

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
  {
    description:
      "Lago's error shape. 400: `error` tells what is wrong; 401: `error` only; 404, 405: a `code` such as `webhook_endpoint_not_found`; 409: a `code` and a `message`; 413, 503: a `message`; 429: `code` `rate_limited` and a `message`.",
  },
);

export const ValidationError = named(
  'ValidationError',
  z.object({
    status: z.literal(422),
    error: z.literal('Unprocessable Entity'),
    code: z.literal('validation_errors'),
    error_details: z.record(z.string(), z.array(z.string())),
  }),
  { description: "Lago's 422: the code (`value_is_mandatory`, `value_is_invalid`, …) of each field refused." },
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
    aws_role_arn: z
      .string()
      .nullable()
      .describe(
        "The role assumed to deliver to an AWS destination (`webhook_url` an SQS queue's or EventBridge bus's ARN), with `lago_organization_id` as its external id; null for a URL",
      ),
    max_rps: z
      .int()
      .min(1)
      .nullable()
      .describe('Beyond Lago: the most attempts a second, across every sender; null: no limit'),
    circuit: z
      .object({
        state: z.enum(['closed', 'open', 'half_open']),
        opened_at: timestamp.nullable(),
      })
      .describe(
        'Beyond Lago: the circuit breaker; open, its webhooks wait without spending attempts until a probe succeeds',
      ),
  }),
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

export const Jwks = named(
  'Jwks',
  z.object({
    keys: z
      .array(
        z.object({
          kty: z.literal('RSA'),
          n: z.string(),
          e: z.string(),
          kid: z
            .string()
            .describe('RFC 7638 thumbprint of the key (JWTs carry no kid: Lago\'s header is {"alg":"RS256"})'),
          alg: z.literal('RS256'),
          use: z.literal('sig'),
        }),
      )
      .min(1)
      .describe(
        'The key signing now, and during a rotation the one before or after it: a JWT verifies with one of them',
      ),
  }),
);

export const HmacKey = named(
  'HmacKey',
  z.object({
    webhook: z.object({
      hmac_key: z.string(),
      standard_webhooks_secret: z.string(),
      previous_hmac_key: z.string().optional().describe("While a rotation's overlap lasts: the newest previous token"),
      previous_standard_webhooks_secret: z.string().optional(),
      previous_expires_at: timestamp.optional(),
      previous_hmac_keys: z
        .array(z.object({ hmac_key: z.string(), standard_webhooks_secret: z.string(), expires_at: timestamp }))
        .max(5)
        .optional()
        .describe(
          'While overlaps last: every previous token still valid, newest first, each until its own expiry (at most 5)',
        ),
    }),
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

export const RecoverResult = named('RecoverResult', z.object({ recovered: whole, has_more: z.boolean() }));

// Replay of a window into one endpoint.
export const ReplayResult = named(
  'ReplayResult',
  z.object({
    replayed: whole.describe('Webhooks queued for this endpoint'),
    has_more: z.boolean().describe('The call stopped early: call again with `to_date` set to `next_to_date`'),
    next_to_date: z.string().nullable().describe('Where the next call goes on, while `has_more`'),
  }),
);

// Operator routes.

export const OrganizationCreated = named(
  'OrganizationCreated',
  z.object({
    organization: z.object({ lago_id: uuid, name: z.string(), created_at: timestamp }),
    api_key: z.string().describe('Shown once'),
  }),
);

export const PortalSessionCreated = named(
  'PortalSessionCreated',
  z.object({
    portal_session: z.object({
      url: z.string().describe("The console's URL with the token in its fragment: opens it signed in"),
      token: z.string().describe("A JWT for `Authorization: Bearer` on /api/v1, with the role's rights"),
      role: z.enum(['viewer', 'manager']),
      expires_at: timestamp,
    }),
  }),
);
export const PortalSessionsRevoked = named(
  'PortalSessionsRevoked',
  z.object({ portal_sessions: z.object({ revoked_at: timestamp.describe('Every session made before is refused') }) }),
);

const Published = z.array(
  z.object({ lago_id: uuid, lago_webhook_endpoint_id: uuid, webhook_url: z.string(), status: Status }),
);
export const PublishResult = named('PublishResult', z.object({ webhooks: Published }));
export const BatchResult = named(
  'BatchResult',
  z.object({
    results: z.array(
      z.union([
        z.object({ index: whole, status: z.literal(202), webhooks: Published }),
        z.object({
          index: whole,
          status: z.number().int().min(400),
          error: LagoError,
          webhooks: Published.optional().describe(
            '503 only: the webhooks stored but not all queued, which the sweeper will send',
          ),
        }),
      ]),
    ),
  }),
);
export const DeadLetters = named(
  'DeadLetters',
  z.object({ dead_letters: z.object({ count: whole, oldest_age_seconds: z.number().min(0).nullable() }) }),
);
export const RedriveResult = named(
  'RedriveResult',
  z.object({ redrive: z.object({ moved: whole, running: z.boolean() }) }),
);
