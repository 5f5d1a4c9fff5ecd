import type { Organization, PreviousToken, TokenSource, WebhookEndpoint } from '../../domain/model.ts';
import type { OrganizationStore } from '../../domain/ports.ts';
import { isoSeconds } from '../../domain/time.ts';
import { IF_ABSENT, IF_PRESENT, type Item, type Table } from './client.ts';
import { toEndpoint } from './endpoint-store.ts';
import { apiKeyKey, organizationKey, organizationPartition, PK, SK } from './keys.ts';

/** A token's source under the attribute names items have always had. */
const sourceAttributes = (source: TokenSource): Item =>
  'sealed_token' in source
    ? { sealed_token: source.sealed_token }
    : {
        token_version: source.token_version,
        ...(source.token_root !== undefined ? { token_root: source.token_root } : {}),
      };

function toSource(item: Item): TokenSource | undefined {
  if (typeof item.token_version === 'number')
    return {
      token_version: item.token_version,
      ...(typeof item.token_root === 'string' ? { token_root: item.token_root } : {}),
    };
  return typeof item.sealed_token === 'string' ? { sealed_token: item.sealed_token } : undefined;
}

/** The organization's stored attributes: the model's, under the names and in the formats items have always had. */
function organizationAttributes(org: Organization): Item {
  return {
    id: org.id,
    name: org.name,
    created_at: isoSeconds(org.created_at_ms),
    ...(org.token ? sourceAttributes(org.token) : {}),
    ...(org.previous_tokens ? { previous_tokens: previousTokensAttribute(org.previous_tokens) } : {}),
    ...(org.portal_session_version !== undefined ? { portal_session_version: org.portal_session_version } : {}),
  };
}

/** Previous tokens as a list of maps, each with its expiry in epoch milliseconds (as `previous_token_expires_at` was). */
const previousTokensAttribute = (tokens: PreviousToken[]): Item[] =>
  tokens.map((token) => ({ ...sourceAttributes(token), expires_at: token.expires_at_ms }));

/** The list, or the one previous token items written before it kept (`previous_token_version` or `previous_sealed_token`). */
function toPreviousTokens(item: Item): PreviousToken[] {
  if (Array.isArray(item.previous_tokens))
    return (item.previous_tokens as Item[]).flatMap((entry) => {
      const source = toSource(entry);
      return source && typeof entry.expires_at === 'number' ? [{ ...source, expires_at_ms: entry.expires_at }] : [];
    });
  if (typeof item.previous_token_expires_at !== 'number') return [];
  const source = toSource({ token_version: item.previous_token_version, sealed_token: item.previous_sealed_token });
  return source ? [{ ...source, expires_at_ms: item.previous_token_expires_at }] : [];
}

/** An organization item as this revision or an earlier one wrote it (infra/migrate reads fecb8e2's through it too). */
export function toOrganization(item: Item): Organization {
  const token = toSource(item);
  const previous = toPreviousTokens(item);
  return {
    id: item.id as string,
    name: item.name as string,
    created_at_ms: Date.parse(item.created_at as string),
    ...(token ? { token } : {}),
    ...(previous.length > 0 ? { previous_tokens: previous } : {}),
    ...(typeof item.portal_session_version === 'number' ? { portal_session_version: item.portal_session_version } : {}),
  };
}

/** Organizations, with their endpoint count, API key hashes and sealed HMAC tokens. */
export class DynamoDbOrganizationStore implements OrganizationStore {
  private readonly table: Table;

  constructor(table: Table) {
    this.table = table;
  }

  async createOrganization(org: Organization, apiKeyHash: string): Promise<void> {
    const TableName = this.table.name;
    await this.table.transact([
      {
        Put: {
          TableName,
          Item: { ...organizationKey(org.id), ...organizationAttributes(org), endpoint_count: 0 },
          ConditionExpression: IF_ABSENT,
        },
      },
      {
        Put: { TableName, Item: { ...apiKeyKey(apiKeyHash), organization_id: org.id }, ConditionExpression: IF_ABSENT },
      },
    ]);
  }

  async getOrganization(id: string): Promise<Organization | undefined> {
    const item = await this.table.get(organizationKey(id));
    return item ? toOrganization(item) : undefined;
  }

  /** One query: the organization's item and its endpoints sort together; URL claims and deleted endpoints after. */
  async getOrganizationWithEndpoints(
    id: string,
  ): Promise<{ organization: Organization | undefined; endpoints: WebhookEndpoint[] }> {
    const { from, to } = organizationPartition.endpointsThroughOrganization;
    const { Items = [] } = await this.table.query({
      KeyConditionExpression: `${PK} = :pk AND ${SK} BETWEEN :ep AND :org`,
      ExpressionAttributeValues: { ':pk': organizationPartition.key(id), ':ep': from, ':org': to },
      ConsistentRead: true,
    });
    const org = Items.find(organizationPartition.isOrganization);
    return {
      organization: org ? toOrganization(org) : undefined,
      endpoints: Items.filter(organizationPartition.isEndpoint).map(toEndpoint),
    };
  }

  rotateOrganizationToken(
    organizationId: string,
    current: TokenSource,
    next: { token: { token_version: number; token_root: string }; previous_tokens: PreviousToken[] },
  ): Promise<boolean> {
    const sealed = 'sealed_token' in current;
    return this.table.updateIf({
      Key: organizationKey(organizationId),
      // The previous tokens move to the list; the attributes of the one previous token items kept before it go.
      UpdateExpression:
        'SET token_version = :next, token_root = :root, previous_tokens = :previous ' +
        'REMOVE sealed_token, previous_token_version, previous_sealed_token, previous_token_expires_at',
      ConditionExpression: sealed
        ? 'attribute_not_exists(token_version) AND sealed_token = :current'
        : 'token_version = :current',
      ExpressionAttributeValues: {
        ':next': next.token.token_version,
        ':root': next.token.token_root,
        ':previous': previousTokensAttribute(next.previous_tokens),
        ':current': sealed ? current.sealed_token : current.token_version,
      },
    });
  }

  sealOrganizationToken(organizationId: string, sealed: string): Promise<boolean> {
    return this.table.updateIf({
      Key: organizationKey(organizationId),
      UpdateExpression: 'SET sealed_token = :sealed',
      ConditionExpression: `${IF_PRESENT} AND attribute_not_exists(sealed_token) AND attribute_not_exists(token_version)`,
      ExpressionAttributeValues: { ':sealed': sealed },
    });
  }

  bumpPortalSessionVersion(organizationId: string): Promise<boolean> {
    return this.table.updateIf({
      Key: organizationKey(organizationId),
      UpdateExpression: 'ADD portal_session_version :one',
      ConditionExpression: IF_PRESENT,
      ExpressionAttributeValues: { ':one': 1 },
    });
  }

  async findOrganizationIdByKeyHash(hash: string): Promise<string | undefined> {
    const item = await this.table.get(apiKeyKey(hash));
    return item?.organization_id as string | undefined;
  }
}
