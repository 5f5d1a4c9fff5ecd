/**
 * The stateful resources of a synthesized template, and what a change to them would do to a
 * deployed stack: the snapshot test/infra/stateful-resources.test.ts keeps and compares against.
 * Stateful: what holds data or identity a deployment keeps across updates (the table, the queues,
 * the KMS key, the signing key's custom resource, the log groups, the HTTP API whose id is in its URL).
 */

type Json = Record<string, unknown>;

interface TemplateResource {
  Type: string;
  Properties?: Json;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

/** One resource as the snapshot records it. */
export interface StatefulResource {
  type: string;
  /** Properties whose change makes CloudFormation replace the resource (or, for the signing key, make a new key). */
  replacing: Json;
  /** A table's global secondary indexes by name: CloudFormation adds, removes or changes one per update. */
  indexes?: Record<string, Json>;
  /** What else is kept: changing it updates the resource in place. */
  kept: Json;
}

export type StatefulResources = Record<string, StatefulResource>;

/** Per type: the properties that replace the resource, and those recorded besides. */
const STATEFUL_TYPES: Record<string, { replacing: string[]; kept: string[] }> = {
  'AWS::DynamoDB::Table': {
    replacing: ['TableName', 'KeySchema', 'LocalSecondaryIndexes'],
    kept: [
      'AttributeDefinitions',
      'BillingMode',
      'TimeToLiveSpecification',
      'PointInTimeRecoverySpecification',
      'SSESpecification',
      'StreamSpecification',
    ],
  },
  'AWS::SQS::Queue': {
    replacing: ['QueueName', 'FifoQueue'],
    kept: ['MessageRetentionPeriod', 'ContentBasedDeduplication', 'RedrivePolicy', 'SqsManagedSseEnabled'],
  },
  'AWS::KMS::Key': { replacing: ['KeySpec', 'KeyUsage', 'MultiRegion'], kept: ['EnableKeyRotation'] },
  'AWS::Logs::LogGroup': { replacing: ['LogGroupName'], kept: ['RetentionInDays'] },
  'AWS::SecretsManager::Secret': { replacing: ['Name'], kept: [] },
  // CloudFormation cannot change a custom resource's service token; a new secret name makes a new key.
  'Custom::WebhookSigningKey': { replacing: ['ServiceToken', 'SecretName'], kept: [] },
  // The key rings made from the signing key: a new name or kind would make a new ring, and every token derived from
  // the old one would be lost.
  'Custom::WebhookKeyring': { replacing: ['ServiceToken', 'SecretName', 'Keyring'], kept: [] },
  // The API's id is in its URL, which clients and the JWT issuer name.
  'AWS::ApiGatewayV2::Api': { replacing: ['ProtocolType'], kept: [] },
  'AWS::ApiGatewayV2::DomainName': { replacing: ['DomainName'], kept: [] },
};

const pick = (properties: Json, names: string[]): Json =>
  Object.fromEntries(names.map((name) => [name, properties[name] ?? null]));

/** The stateful resources of a template, by logical id. */
export function statefulResources(template: { Resources: Record<string, TemplateResource> }): StatefulResources {
  const found: StatefulResources = {};
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const spec = STATEFUL_TYPES[resource.Type];
    if (!spec) continue;
    const properties = resource.Properties ?? {};
    const indexes = properties.GlobalSecondaryIndexes as { IndexName: string }[] | undefined;
    found[logicalId] = {
      type: resource.Type,
      replacing: pick(properties, spec.replacing),
      ...(resource.Type === 'AWS::DynamoDB::Table'
        ? { indexes: Object.fromEntries((indexes ?? []).map(({ IndexName, ...index }) => [IndexName, index])) }
        : {}),
      kept: {
        ...pick(properties, spec.kept),
        DeletionPolicy: resource.DeletionPolicy ?? null,
        UpdateReplacePolicy: resource.UpdateReplacePolicy ?? null,
      },
    };
  }
  return found;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * What an update from `before` to `after` would do that loses data or breaks the stack: a resource
 * removed (or its type changed), a property that replaces it, more than one global secondary
 * index change on a table (CloudFormation refuses that in one update). Empty when the update is safe.
 */
export function upgradeProblems(before: StatefulResources, after: StatefulResources): string[] {
  const problems: string[] = [];
  for (const [logicalId, was] of Object.entries(before)) {
    const now = after[logicalId];
    if (!now) {
      problems.push(`${logicalId} (${was.type}) is removed: CloudFormation would delete or orphan it`);
      continue;
    }
    if (now.type !== was.type) {
      problems.push(`${logicalId} changes type from ${was.type} to ${now.type}: a new resource`);
      continue;
    }
    for (const [name, value] of Object.entries(was.replacing))
      if (!same(now.replacing[name], value))
        problems.push(
          `${logicalId} (${was.type}) is replaced: ${name} changes from ${JSON.stringify(value)} to ${JSON.stringify(now.replacing[name])}`,
        );
    const indexChanges = changedIndexes(was.indexes ?? {}, now.indexes ?? {});
    if (indexChanges.length > 1)
      problems.push(
        `${logicalId} (${was.type}) changes ${indexChanges.length} global secondary indexes (${indexChanges.join(', ')}): CloudFormation changes one per update`,
      );
  }
  return problems;
}

function changedIndexes(before: Record<string, Json>, after: Record<string, Json>): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((name) => !same(before[name], after[name]));
}
