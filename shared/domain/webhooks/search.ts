import { notFound, validationFailed, type ValidationDetails } from '../errors.ts';
import { isWebhookType } from '../catalog/event-types.ts';
import { isUuid } from '../ids.ts';
import { WEBHOOK_STATUSES, type Webhook, type WebhookStatus } from '../model.ts';
import { perPage } from '../pagination.ts';
import type { WebhookQuery, WebhookStore } from '../ports.ts';
import type { WebhookDeps } from './deps.ts';
import { summarize } from './views.ts';

/** Finding webhooks: the list's query (filters, dates, cursor, page size), the list, one webhook. */

const HTTP_STATUS_FILTER = /^(?:[1-5]\d\d|[1-5]xx|timeout)$/;

/** Values a list filter may hold: each becomes an index partition or a filter term. */
const MAX_LIST_VALUES = 20;

/** Reads repeated (`statuses[]=a&statuses[]=b`) and comma-separated (`statuses=a,b`) forms alike; too many values is a 422. */
function listParam(params: URLSearchParams, name: string, details: ValidationDetails): string[] | undefined {
  const values = [
    ...new Set(
      [...params.getAll(`${name}[]`), ...params.getAll(name)]
        .flatMap((v) => v.split(','))
        .map((v) => v.trim())
        .filter((v) => v !== ''),
    ),
  ];
  if (values.length > MAX_LIST_VALUES) {
    details[name] = ['too_many_values'];
    return undefined;
  }
  return values.length ? values : undefined;
}

function isCalendarDate(ymd: string): boolean {
  const [y, m, d] = ymd.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d)).toISOString().slice(0, 10) === ymd;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** ISO 8601 dates and times (the list's filters, recover's window); a time without a zone is UTC, whatever the machine's zone. */
export function parseDate(
  raw: string | null,
  endOfDay: boolean,
  field: string,
  details: ValidationDetails,
): number | undefined {
  if (raw === null || raw === '') return undefined;
  // The whole value must be ISO 8601 (Date.parse forgives trailing garbage such as a NUL).
  if (!ISO_DATE.test(raw)) {
    details[field] = ['invalid_date'];
    return undefined;
  }
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(raw);
  const zoned = dateOnly ? `${raw}T00:00:00Z` : /(?:Z|[+-]\d{2}:?\d{2})$/i.test(raw) ? raw : `${raw}Z`;
  const ms = Date.parse(zoned);
  // Date.parse rolls impossible days over (2024-02-30 becomes March 1st): the calendar date must round-trip.
  if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}/.test(raw) || !isCalendarDate(raw.slice(0, 10))) {
    details[field] = ['invalid_date'];
    return undefined;
  }
  return dateOnly && endOfDay ? ms + 86_400_000 - 1 : ms;
}

function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

function decodeCursor(raw: string): string | undefined {
  const id = Buffer.from(raw, 'base64url').toString('utf8');
  return isUuid(id) ? id : undefined;
}

export function parseWebhookQuery(organizationId: string, params: URLSearchParams): WebhookQuery {
  const details: ValidationDetails = {};
  const query: WebhookQuery = { organizationId, limit: perPage(params, details) };
  const endpointId = params.get('webhook_endpoint_id');
  if (endpointId) {
    if (isUuid(endpointId)) query.endpointId = endpointId;
    else details.webhook_endpoint_id = ['value_is_invalid'];
  }
  const statuses = listParam(params, 'statuses', details);
  if (statuses) {
    if (statuses.every((s) => (WEBHOOK_STATUSES as readonly string[]).includes(s)))
      query.statuses = statuses as WebhookStatus[];
    else details.statuses = ['value_is_invalid'];
  }
  const types = listParam(params, 'webhook_types', details);
  if (types) {
    if (types.every(isWebhookType)) query.webhookTypes = types;
    else details.webhook_types = ['value_is_invalid'];
  }
  const codes = listParam(params, 'http_statuses', details);
  if (codes) {
    if (codes.every((c) => HTTP_STATUS_FILTER.test(c))) query.httpStatuses = codes;
    else details.http_statuses = ['value_is_invalid'];
  }
  const from = parseDate(params.get('from_date'), false, 'from_date', details);
  const to = parseDate(params.get('to_date'), true, 'to_date', details);
  if (from !== undefined) query.fromMs = from;
  if (to !== undefined) query.toMs = to;
  const term = params.get('search_term')?.trim();
  if (term) {
    if (term.length <= 255) query.searchTerm = term;
    else details.search_term = ['value_is_invalid'];
  }
  const cursor = params.get('cursor');
  if (cursor) {
    const before = decodeCursor(cursor);
    if (before) query.before = before;
    else details.cursor = ['value_is_invalid'];
  }
  if (Object.keys(details).length > 0) throw validationFailed(details);
  return query;
}

export async function listWebhooks(deps: Pick<WebhookDeps<WebhookStore>, 'store'>, query: WebhookQuery) {
  const page = await deps.store.queryWebhooks(query);
  return {
    webhooks: page.items.map(summarize),
    meta: { per_page: query.limit, next_cursor: page.last ? encodeCursor(page.last) : null },
  };
}

export async function getWebhook(store: WebhookStore, organizationId: string, id: string): Promise<Webhook> {
  // Read among the organization's own endpoints: another organization's webhook does not exist, as far as this one can tell.
  const webhook = isUuid(id) ? await store.getWebhook(organizationId, id) : undefined;
  if (!webhook || webhook.organization_id !== organizationId) throw notFound('webhook');
  return webhook;
}
