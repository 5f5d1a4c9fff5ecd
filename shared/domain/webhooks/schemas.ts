import { z } from 'zod';
import { WEBHOOK_TYPES } from '../catalog/event-types.ts';
import { isUuid, UUID } from '../ids.ts';
import { WEBHOOK_STATUSES } from '../model.ts';
import { perPage } from '../pagination.ts';
import { named, queryList, refuse, refusedAs, unreadable } from '../validation.ts';

/**
 * The requests of the webhook routes: publishing (one event or a batch), test events, recovery, the dead letters'
 * redrive, and the list's query.
 */

const uuid = z.string().regex(UUID);

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;
const DAY_MS = 86_400_000;

function isCalendarDate(ymd: string): boolean {
  const [y, m, d] = ymd.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d)).toISOString().slice(0, 10) === ymd;
}

/** An ISO 8601 date or time in ms; a time without a zone is UTC, whatever the machine's zone. */
function isoMs(raw: string, endOfDay: boolean): number | undefined {
  // The whole value must be ISO 8601 (Date.parse forgives trailing garbage such as a NUL).
  if (!ISO_DATE.test(raw)) return undefined;
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(raw);
  const zoned = dateOnly ? `${raw}T00:00:00Z` : /(?:Z|[+-]\d{2}:?\d{2})$/i.test(raw) ? raw : `${raw}Z`;
  const ms = Date.parse(zoned);
  // Date.parse rolls impossible days over (2024-02-30 becomes March 1st): the calendar date must round-trip.
  if (Number.isNaN(ms) || !isCalendarDate(raw.slice(0, 10))) return undefined;
  return dateOnly && endOfDay ? ms + DAY_MS - 1 : ms;
}

/** A date or time (`invalid_date` otherwise), as ms; a date alone is its first instant, or its last if `endOfDay`. */
const isoDate = (endOfDay: boolean) =>
  z
    .string(refusedAs('invalid_date'))
    .refine((raw) => raw !== '', { error: 'value_is_mandatory' })
    .transform((raw, ctx) => isoMs(raw, endOfDay) ?? refuse(ctx, 'invalid_date'));

// Publishing.

/** The object sits beside these keys in the envelope, so it cannot take their names. */
const ENVELOPE_KEYS = ['webhook_type', 'object_type', 'organization_id'];

/** A JSON object, passed on as sent: zod's records copy their keys, and would drop an own `__proto__` key. */
const jsonObject = z
  .custom<Record<string, unknown>>((value) => typeof value === 'object' && value !== null && !Array.isArray(value))
  .meta({ type: 'object', additionalProperties: {} });

const publishExample = {
  organization_id: '0190a0a0-0000-7000-8000-000000000000',
  webhook_type: 'invoice.created',
  object_type: 'invoice',
  object: { lago_id: 'inv_1', number: 'INV-001', total_amount_cents: 1000 },
  idempotency_key: 'invoice-inv_1-created',
} as const;

export const PublishRequest = named(
  'PublishRequest',
  z.object({
    organization_id: uuid,
    webhook_type: z.enum(WEBHOOK_TYPES),
    object_type: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,63}$/)
      .refine((type) => !ENVELOPE_KEYS.includes(type))
      .describe("The object's key in the envelope"),
    object: jsonObject,
    idempotency_key: z
      .string()
      .min(1)
      .max(255)
      .nullish()
      .transform((key) => key ?? undefined),
  }),
  { examples: [publishExample] },
);

/** The most events one batch publish takes. */
export const MAX_BATCH_EVENTS = 100;

/** `{"events": [...]}` with 1 to MAX_BATCH_EVENTS events; anything else is a 400. */
const batchOf = <T extends z.ZodType>(event: T) => {
  const refused = unreadable(`the body must be {"events":[...]} with 1 to ${MAX_BATCH_EVENTS} events`);
  return z.object({ events: z.array(event, refused).min(1).max(MAX_BATCH_EVENTS) }, refused);
};

export const BatchRequest = named('BatchRequest', batchOf(PublishRequest), {
  examples: [
    { events: [{ ...publishExample, idempotency_key: 'invoice-inv_2-created', object: { lago_id: 'inv_2' } }] },
  ],
});

/** A batch as read: each event is then checked on its own, and refused on its own. */
export const BatchEnvelope = batchOf(z.unknown());

// Test events and recovery.

export const TestEventRequest = named(
  'TestEventRequest',
  z.object({ webhook_type: z.enum(WEBHOOK_TYPES).describe('A type of the catalog') }),
  { examples: [{ webhook_type: 'invoice.created' }] },
);

const MAX_RECOVER_WINDOW_DAYS = 14;

/** A window of at most MAX_RECOVER_WINDOW_DAYS, recover's and replay's. */
const windowFields = {
  from_date: isoDate(false).describe('ISO 8601 date or time'),
  to_date: isoDate(true).describe(`ISO 8601 date or time, at most ${MAX_RECOVER_WINDOW_DAYS} days after from_date`),
};

function checkWindow({ from_date: from, to_date: to }: { from_date: number; to_date: number }, ctx: z.RefinementCtx) {
  if (to < from) ctx.addIssue({ code: 'custom', path: ['to_date'], message: 'must_be_after_from_date' });
  else if (to - from > MAX_RECOVER_WINDOW_DAYS * DAY_MS)
    ctx.addIssue({
      code: 'custom',
      path: ['to_date'],
      message: `window_exceeds_${MAX_RECOVER_WINDOW_DAYS}_days`,
    });
}

/** The window is checked whatever else is wrong, as long as the body is an object and both dates are read. */
const whenDatesRead = {
  when: ({ issues }: { issues: readonly { path?: readonly PropertyKey[] }[] }) =>
    issues.every((issue) => !['', 'from_date', 'to_date'].includes(String(issue.path?.[0] ?? ''))),
};

export const RecoverRequest = named(
  'RecoverRequest',
  z.object({ webhook_endpoint_id: uuid, ...windowFields }).superRefine(checkWindow, whenDatesRead),
  {
    examples: [
      { webhook_endpoint_id: '0190a0a0-0000-7000-8000-000000000001', from_date: '2026-01-01', to_date: '2026-01-14' },
    ],
  },
);

/** A list of known values in a body: at least one when present. */
const bodyList = <T extends z.ZodType>(item: T, what: string) => z.array(item).min(1).optional().describe(what);

export const ReplayRequest = named(
  'ReplayRequest',
  z
    .object({
      ...windowFields,
      statuses: bodyList(z.enum(WEBHOOK_STATUSES), 'Only webhooks with these statuses (all when absent)'),
      webhook_types: bodyList(
        z.enum(WEBHOOK_TYPES),
        'Only these types, among those the endpoint listens to (all of those when absent)',
      ),
    })
    .superRefine(checkWindow, whenDatesRead),
  {
    examples: [
      { from_date: '2026-01-01', to_date: '2026-01-02' },
      { from_date: '2026-01-01T00:00:00Z', to_date: '2026-01-01T12:00:00Z', statuses: ['succeeded'] },
    ],
  },
);

/** Redrive takes no parameters yet, but a body that is not a JSON object is a mistake worth telling. */
export const RedriveRequest = named('RedriveRequest', z.object({}), { examples: [{}] });

// The list's query.

/** A cursor is the last id of a page, base64url-encoded. */
export const encodeCursor = (id: string): string => Buffer.from(id, 'utf8').toString('base64url');

const HTTP_STATUS_FILTER = /^(?:[1-5]\d\d|[1-5]xx|timeout)$/;

export const WebhookListQuery = z
  .object({
    per_page: perPage,
    webhook_endpoint_id: uuid.optional().describe("One endpoint's webhooks"),
    statuses: queryList(z.enum(WEBHOOK_STATUSES), 'Statuses'),
    webhook_types: queryList(z.enum(WEBHOOK_TYPES), 'Webhook types'),
    http_statuses: queryList(z.string().regex(HTTP_STATUS_FILTER), 'HTTP statuses (`404`, `5xx`) or `timeout`'),
    from_date: isoDate(false).optional().describe('ISO 8601 date or time (UTC when no zone)'),
    to_date: isoDate(true).optional().describe('ISO 8601 date or time; a date covers its whole day'),
    search_term: z
      .string()
      .trim()
      .max(255)
      .transform((term) => term || undefined)
      .optional()
      .describe('A webhook id or object id'),
    cursor: z
      .string()
      .transform((raw, ctx) => {
        const id = Buffer.from(raw, 'base64url').toString('utf8');
        return isUuid(id) ? id : refuse(ctx, 'value_is_invalid');
      })
      .optional()
      .describe("From the previous page's meta.next_cursor"),
  })
  .meta({
    examples: [{ statuses: ['failed'], webhook_types: ['invoice.created'], from_date: '2026-01-01', per_page: 50 }],
  });
