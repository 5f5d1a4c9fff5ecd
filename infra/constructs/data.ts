import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { TABLE } from '../definitions.ts';

export interface WebhookTableProps {
  /** What happens to the table when it leaves the stack. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (kept, except when the stack's first create rolls back) */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Refuse DeleteTable, even from CloudFormation. Off by default because it would also block the
   * rollback of a failed first deploy (the table would be left behind and the stack stuck in
   * ROLLBACK_FAILED); turn it on once the stack exists.
   * @default false
   */
  readonly deletionProtection?: boolean;
}

/** `RO` reads; `RU` reads, puts and updates (the senders and the sweeper: no delete, no batch write); `RW` everything the store calls. */
export type TableAccess = 'RO' | 'RU' | 'RW';

/** Exactly what the DynamoDB store calls (transactions need the actions of their items), nothing else. */
const TABLE_ACTIONS: Record<TableAccess, string[]> = {
  RO: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
  RU: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  RW: [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'dynamodb:BatchWriteItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
  ],
};

/** The one table (organizations, endpoints, webhooks), built from TABLE (shared/adapters/dynamodb/table.ts) like the local one. */
export class WebhookTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: WebhookTableProps = {}) {
    super(scope, id);
    const key = (name: string) => ({ name, type: dynamodb.AttributeType.STRING });
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: key(TABLE.partitionKey),
      sortKey: key(TABLE.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE.ttlAttribute,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: props.deletionProtection ?? false,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    for (const index of TABLE.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: key(index.partitionKey),
        sortKey: key(index.sortKey),
        ...(index.include.length > 0
          ? { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...index.include] }
          : { projectionType: dynamodb.ProjectionType.KEYS_ONLY }),
      });
    }
  }

  get tableName(): string {
    return this.table.tableName;
  }

  /** Item actions on the table and queries on each named index: no `index/*` wildcard. */
  grant(grantee: iam.IGrantable, access: TableAccess): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: TABLE_ACTIONS[access], resources: [this.table.tableArn] }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: TABLE.indexes.map((index) => `${this.table.tableArn}/index/${index.name}`),
      }),
    );
  }
}
