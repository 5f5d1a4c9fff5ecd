import { inflateRawSync } from 'node:zlib';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';

/**
 * The table as revision fecb8e2 (2026-11-28, the last before upgrades in place) wrote it, read
 * only: its keys and item attributes, frozen here on purpose. `npm run cli -- migrate` reads an
 * earlier deployment's table through this and writes the current layout through the current
 * stores, so a later change to the stores never changes what is read. Its shapes are that
 * revision's (times as ISO strings); infra/migrate/migrate.ts maps them onto the current model.
 *
 *   ORG#<org> / ORG             organization: id, name, created_at, token_version | sealed_token, previous_*
 *   KEY#<sha256> / KEY          organization_id
 *   ORG#<org> / EP#<id>         endpoint: the API's fields, slow_until, failing_since, disabled_*, headers
 *   EP#<endpoint> / W#<id>      webhook state (short names below), payload `pl` and response `rb` when inline
 *   EP#<endpoint> / P#<id>      payload `p`, when not inline (`px` on the state)
 *   EP#<endpoint> / R#<id>#<n>  response `r` of attempt n, when not inline (`rx` = n on the state)
 */

type Item = Record<string, unknown>;

export interface OldOrganization {
  id: string;
  name: string;
  created_at: string;
  token_version?: number;
  sealed_token?: string;
  previous_token_version?: number;
  previous_sealed_token?: string;
  previous_token_expires_at?: number;
}

export interface OldEndpoint {
  id: string;
  organization_id: string;
  webhook_url: string;
  signature_algo: 'hmac' | 'jwt';
  name: string | null;
  event_types: string[] | null;
  created_at: string;
  slow_until: number | null;
  disabled_at: string | null;
  disabled_reason: string | null;
  failing_since: number | null;
  headers: Record<string, string> | null;
}

interface OldAttempt {
  number: number;
  at: string;
  http_status: number | null;
  error: string | null;
  duration_ms: number;
}

export interface OldWebhook {
  id: string;
  organization_id: string;
  endpoint_id: string;
  endpoint_url: string;
  webhook_type: string;
  object_type: string;
  object_id: string | null;
  payload: string;
  status: 'pending' | 'retrying' | 'succeeded' | 'failed';
  attempt_count: number;
  round_attempts: number;
  attempts: OldAttempt[];
  http_status: number | null;
  response_body: string | null;
  error: string | null;
  next_attempt_at: string | null;
  test: boolean;
  created_at: string;
  updated_at: string;
  expires_at: number;
}

const after = (prefix: string, value: unknown) =>
  typeof value === 'string' && value.startsWith(prefix) ? value.slice(prefix.length) : undefined;
const optional = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;
const iso = (value: unknown) => (typeof value === 'number' ? new Date(value).toISOString() : null);

/** Text as fecb8e2 stored it: as is, or raw-deflated in a binary attribute. */
function unpack(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return inflateRawSync(value).toString('utf8');
  return null;
}

/** fecb8e2 left out an attempt's error when it followed from a non-2xx status. */
const SUCCESS = (status: number) => status >= 200 && status < 300;
const derivedError = (status: number | null) =>
  status !== null && !SUCCESS(status) ? `unexpected http status ${status}` : null;

function organization(item: Item): OldOrganization {
  const number = (name: string) => (typeof item[name] === 'number' ? (item[name] as number) : undefined);
  const text = (name: string) => (typeof item[name] === 'string' ? (item[name] as string) : undefined);
  return {
    id: item.id as string,
    name: item.name as string,
    created_at: item.created_at as string,
    ...optional('token_version', number('token_version')),
    ...optional('sealed_token', text('sealed_token')),
    ...optional('previous_token_version', number('previous_token_version')),
    ...optional('previous_sealed_token', text('previous_sealed_token')),
    ...optional('previous_token_expires_at', number('previous_token_expires_at')),
  };
}

function endpoint(item: Item): OldEndpoint {
  const orNull = <T>(name: string) => (item[name] ?? null) as T | null;
  return {
    id: item.id as string,
    organization_id: item.organization_id as string,
    webhook_url: item.webhook_url as string,
    signature_algo: item.signature_algo as OldEndpoint['signature_algo'],
    name: orNull('name'),
    event_types: orNull('event_types'),
    created_at: item.created_at as string,
    slow_until: orNull('slow_until'),
    disabled_at: orNull('disabled_at'),
    disabled_reason: orNull('disabled_reason'),
    failing_since: orNull('failing_since'),
    headers: orNull('headers'),
  };
}

function attempt(raw: unknown): OldAttempt {
  const [number, at, httpStatus, duration, error] = raw as [number, number, number | null, number, string | null];
  return {
    number,
    at: new Date(at).toISOString(),
    http_status: httpStatus,
    error: error ?? derivedError(httpStatus),
    duration_ms: duration,
  };
}

/** A webhook's state item, with its payload and last response where they are inline. */
function webhookState(item: Item): Omit<OldWebhook, 'payload'> & { payload: string | null } {
  const httpStatus = typeof item.h === 'number' ? item.h : null;
  return {
    id: after('W#', item.sk)!,
    organization_id: item.o as string,
    endpoint_id: after('EP#', item.pk)!,
    endpoint_url: item.u as string,
    webhook_type: item.t as string,
    object_type: item.ot as string,
    object_id: typeof item.oi === 'string' ? item.oi : null,
    payload: unpack(item.pl),
    status: item.s as OldWebhook['status'],
    attempt_count: item.n as number,
    round_attempts: item.ra as number,
    attempts: ((item.a as unknown[] | undefined) ?? []).map(attempt),
    http_status: httpStatus,
    response_body: unpack(item.rb),
    error: typeof item.er === 'string' ? item.er : derivedError(httpStatus),
    next_attempt_at: iso(item.na),
    test: item.ts === true,
    created_at: iso(item.c)!,
    updated_at: iso(item.up)!,
    expires_at: item.expires_at as number,
  };
}

/** Where a scan stopped: DynamoDB's LastEvaluatedKey, kept by the checkpoint. */
export type ScanPosition = Record<string, unknown> | undefined;

/** A page of what a scan found, and where the next page starts (undefined: the scan is over). */
export interface Page<T> {
  items: T[];
  next: ScanPosition;
}

/** Reads a table of revision fecb8e2, a page at a time. */
export class Fecb8e2Table {
  private readonly db: DynamoDBDocumentClient;
  private readonly name: string;
  private readonly pageSize: number | undefined;

  /** `pageSize`: items a scan reads per page (before its filter). @default - DynamoDB's 1 MB pages */
  constructor(client: DynamoDBClient, name: string, { pageSize }: { pageSize?: number } = {}) {
    this.db = DynamoDBDocumentClient.from(client);
    this.name = name;
    this.pageSize = pageSize;
  }

  private async scan(
    filter: string,
    values: Item,
    start: ScanPosition,
  ): Promise<{ items: Item[]; next: ScanPosition }> {
    const page = await this.db.send(
      new ScanCommand({
        TableName: this.name,
        FilterExpression: filter,
        ExpressionAttributeValues: values,
        ExclusiveStartKey: start,
        ConsistentRead: true,
        Limit: this.pageSize,
      }),
    );
    return { items: page.Items ?? [], next: page.LastEvaluatedKey };
  }

  private get(pk: string, sk: string): Promise<Item | undefined> {
    return this.db
      .send(new GetCommand({ TableName: this.name, Key: { pk, sk }, ConsistentRead: true }))
      .then((found) => found.Item);
  }

  /** API keys (by their hash) with their organization. */
  async apiKeys(start: ScanPosition): Promise<Page<{ hash: string; organization: OldOrganization | undefined }>> {
    const page = await this.scan('sk = :key', { ':key': 'KEY' }, start);
    const items = await Promise.all(
      page.items.map(async (item) => {
        const found = await this.get(`ORG#${String(item.organization_id)}`, 'ORG');
        return { hash: after('KEY#', item.pk)!, organization: found && organization(found) };
      }),
    );
    return { items, next: page.next };
  }

  async endpoints(start: ScanPosition): Promise<Page<OldEndpoint>> {
    const page = await this.scan(
      'begins_with(pk, :org) AND begins_with(sk, :ep)',
      { ':org': 'ORG#', ':ep': 'EP#' },
      start,
    );
    return { items: page.items.map(endpoint), next: page.next };
  }

  /** Finished webhooks (succeeded or failed), with their payload and last response. */
  async finishedWebhooks(start: ScanPosition): Promise<Page<OldWebhook>> {
    const page = await this.scan(
      'begins_with(sk, :w) AND (s = :succeeded OR s = :failed)',
      { ':w': 'W#', ':succeeded': 'succeeded', ':failed': 'failed' },
      start,
    );
    const items = await Promise.all(page.items.map((item) => this.webhook(item)));
    return { items: items.filter((webhook): webhook is OldWebhook => webhook !== undefined), next: page.next };
  }

  private async webhook(item: Item): Promise<OldWebhook | undefined> {
    const state = webhookState(item);
    const pk = `EP#${state.endpoint_id}`;
    const payload = state.payload ?? (item.px === true ? unpack((await this.get(pk, `P#${state.id}`))?.p) : null);
    const response =
      typeof item.rx === 'number' ? unpack((await this.get(pk, `R#${state.id}#${item.rx}`))?.r) : state.response_body;
    // A payload item already expired leaves nothing to deliver again: not copied.
    return payload === null ? undefined : { ...state, payload, response_body: response };
  }
}
