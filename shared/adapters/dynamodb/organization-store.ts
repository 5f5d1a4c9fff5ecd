import type { Organization, WebhookEndpoint } from '../../domain/model.ts';
import type { OrganizationStore } from '../../domain/ports.ts';
import { isoSeconds } from '../../domain/time.ts';
import { IF_ABSENT, IF_PRESENT, type Item, type Table } from './client.ts';
import { toEndpoint } from './endpoint-store.ts';
import { apiKeyKey, organizationKey, organizationPartition, PK, SK } from './keys.ts';

/** The organization's stored attributes: the model's, under the names and in the formats items have always had. */
function organizationAttributes(org: Organization): Item {
  const { created_at_ms, previous_token_expires_at_ms, ...rest } = org;
  return {
    ...rest,
    created_at: isoSeconds(created_at_ms),
    ...(previous_token_expires_at_ms !== undefined ? { previous_token_expires_at: previous_token_expires_at_ms } : {}),
  };
}

function toOrganization(item: Item): Organization {
  return {
    id: item.id as string,
    name: item.name as string,
    created_at_ms: Date.parse(item.created_at as string),
    ...(typeof item.token_version === 'number' ? { token_version: item.token_version } : {}),
    ...(typeof item.sealed_token === 'string' ? { sealed_token: item.sealed_token } : {}),
    ...(typeof item.previous_token_version === 'number' ? { previous_token_version: item.previous_token_version } : {}),
    ...(typeof item.previous_sealed_token === 'string' ? { previous_sealed_token: item.previous_sealed_token } : {}),
    ...(typeof item.previous_token_expires_at === 'number'
      ? { previous_token_expires_at_ms: item.previous_token_expires_at }
      : {}),
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
    current: Pick<Organization, 'token_version' | 'sealed_token'>,
    nextVersion: number,
    previousExpiresAtMs: number,
  ): Promise<boolean> {
    const sealed = current.token_version === undefined;
    return this.table.updateIf({
      Key: organizationKey(organizationId),
      UpdateExpression: sealed
        ? 'SET token_version = :next, previous_sealed_token = :sealed, previous_token_expires_at = :expires REMOVE sealed_token, previous_token_version'
        : 'SET token_version = :next, previous_token_version = :version, previous_token_expires_at = :expires REMOVE previous_sealed_token',
      ConditionExpression: sealed
        ? 'attribute_not_exists(token_version) AND sealed_token = :sealed'
        : 'token_version = :version',
      ExpressionAttributeValues: {
        ':next': nextVersion,
        ':expires': previousExpiresAtMs,
        ...(sealed ? { ':sealed': current.sealed_token } : { ':version': current.token_version }),
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

  async findOrganizationIdByKeyHash(hash: string): Promise<string | undefined> {
    const item = await this.table.get(apiKeyKey(hash));
    return item?.organization_id as string | undefined;
  }
}
