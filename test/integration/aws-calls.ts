/**
 * Records the AWS calls each function's handlers make in the local service (an SDK middleware on
 * its DynamoDB and SQS clients, a wrapper on its secret store, the handler's name carried by
 * AsyncLocalStorage), and checks each against that function's IAM policies in the synthesized
 * template with an IAM evaluator (@cloud-copilot/iam-simulate). Used by iam-calls.test.ts.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { STSClient } from '@aws-sdk/client-sts';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { LocalServiceInstrument } from '#infra/local/service.ts';
import { LOCAL_SECRETS_PREFIX } from '#shared/runtime/local-deps.ts';
import type { SecretStore } from '#shared/domain/ports.ts';
import { dynamoDbOperation } from '../../bench/accounting.ts';

/** The local service's handlers, by the names it wraps them under. */
export type FunctionName = 'api' | 'admin' | 'sender-fast' | 'sender-slow' | 'sweeper';

/** What a call touched, in the local service's names. */
export type LocalResource =
  | { kind: 'table'; name: string; index?: string }
  | { kind: 'queue'; url: string }
  | { kind: 'secret'; name: string }
  /** An AWS destination's role, assumed by a sender. */
  | { kind: 'role'; arn: string };

/** A call to an AWS destination, made as the role assumed for it (never the function's own). */
export interface AssumedCall {
  action: string;
  /** The queue's URL or the bus's ARN. */
  target: string;
  /** The access key id the call was signed with. */
  accessKeyId: string;
}

/** The credentials the recorder's stand-in for STS answers AssumeRole with (STS has no local emulator). */
export const ASSUMED_ACCESS_KEY_ID = 'ASIAASSUMEDROLE';

export interface RecordedCall {
  fn: FunctionName;
  /** The IAM action the call needs, e.g. `dynamodb:UpdateItem`. */
  action: string;
  resource: LocalResource;
}

/** SQS commands whose IAM action is another's: a batch needs its single action. */
const SQS_ACTIONS: Record<string, string> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};

/** The item actions of a transaction (DynamoDB authorizes each item by its own action). */
const TRANSACT_ACTIONS: Record<string, string> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
  Get: 'GetItem',
};

type Input = Record<string, unknown>;

/** The IAM actions and tables of one DynamoDB call. */
function dynamoDbCalls(operation: string, input: Input): { action: string; resource: LocalResource }[] {
  const table = (name: unknown, index?: unknown): LocalResource => ({
    kind: 'table',
    name: String(name),
    ...(typeof index === 'string' ? { index } : {}),
  });
  if (operation === 'TransactWriteItems' || operation === 'TransactGetItems')
    return (input.TransactItems as Record<string, Input>[]).flatMap((item) =>
      Object.entries(item).map(([kind, body]) => ({
        action: `dynamodb:${TRANSACT_ACTIONS[kind] ?? kind}`,
        resource: table(body.TableName),
      })),
    );
  if (operation === 'BatchWriteItem' || operation === 'BatchGetItem')
    return Object.keys(input.RequestItems as Input).map((name) => ({
      action: `dynamodb:${operation}`,
      resource: table(name),
    }));
  return [{ action: `dynamodb:${operation}`, resource: table(input.TableName, input.IndexName) }];
}

/**
 * The recorder: hand `instrument` to startLocalService, `start()` once it is up (the bootstrap's
 * own calls are not the functions'), then read `calls`. A call made outside any handler is the
 * local poller's, standing for a lane's event source mapping, which runs with that lane's sender's
 * role: it is recorded under the sender of the queue it reads.
 */
export class AwsCallRecorder {
  readonly calls: RecordedCall[] = [];
  /** Calls made outside any handler that are not a poller's: there should be none. */
  readonly unattributed: string[] = [];
  /** Calls to AWS destinations, as the role assumed for them: not any function's own. */
  readonly assumedCalls: AssumedCall[] = [];
  private readonly current = new AsyncLocalStorage<FunctionName>();
  private recording = false;
  private laneQueues: Record<string, FunctionName> = {};

  /** From now on calls are recorded; `laneQueues` maps each lane's queue URL to its sender, for the pollers' calls. */
  start(laneQueues: Record<string, FunctionName>): void {
    this.laneQueues = laneQueues;
    this.recording = true;
  }

  private record(action: string, resource: LocalResource): void {
    if (!this.recording) return;
    const fn = this.current.getStore() ?? (resource.kind === 'queue' ? this.laneQueues[resource.url] : undefined);
    if (fn) this.calls.push({ fn, action, resource });
    else this.unattributed.push(`${action} ${JSON.stringify(resource)}`);
  }

  get instrument(): LocalServiceInstrument {
    return {
      dynamoDb: (client: DynamoDBClient) =>
        client.middlewareStack.add(
          (next, context) => async (args) => {
            const operation = dynamoDbOperation(context.commandName ?? '');
            for (const call of dynamoDbCalls(operation, args.input as Input)) this.record(call.action, call.resource);
            return next(args);
          },
          { step: 'initialize', name: 'recordIamCalls' },
        ),
      sqs: (client: SQSClient) =>
        client.middlewareStack.add(
          (next, context) => async (args) => {
            const command = (context.commandName ?? '').replace(/Command$/, '');
            const input = args.input as Input;
            this.record(`sqs:${SQS_ACTIONS[command] ?? command}`, { kind: 'queue', url: String(input.QueueUrl) });
            return next(args);
          },
          { step: 'initialize', name: 'recordIamCalls' },
        ),
      // STS has no local emulator: AssumeRole is recorded as the sender's call and answered here.
      sts: (client: STSClient) =>
        client.middlewareStack.add(
          () => async (args) => {
            this.record('sts:AssumeRole', { kind: 'role', arn: String((args.input as { RoleArn?: string }).RoleArn) });
            const Expiration = new Date(Date.now() + 15 * 60_000);
            const Credentials = {
              AccessKeyId: ASSUMED_ACCESS_KEY_ID,
              SecretAccessKey: 'x',
              SessionToken: 'y',
              Expiration,
            };
            return { output: { Credentials, $metadata: {} }, response: {} } as never;
          },
          { step: 'initialize', name: 'standInForSts' },
        ),
      // A destination's calls are signed with the assumed role's credentials (asked for here as signing would), and answered here.
      awsDestination: (client: SQSClient | EventBridgeClient) =>
        (client as SQSClient).middlewareStack.add(
          (_next, context) => async (args) => {
            const { accessKeyId } = await client.config.credentials();
            const input = args.input as Input;
            const command = (context.commandName ?? '').replace(/Command$/, '');
            const sqs = command === 'SendMessage';
            const target = sqs
              ? String(input.QueueUrl)
              : String((input.Entries as Input[] | undefined)?.[0]?.EventBusName);
            this.assumedCalls.push({ action: `${sqs ? 'sqs' : 'events'}:${command}`, target, accessKeyId });
            const output = sqs
              ? { MessageId: 'recorded' }
              : { FailedEntryCount: 0, Entries: [{ EventId: 'recorded' }] };
            return { output: { ...output, $metadata: {} }, response: {} } as never;
          },
          { step: 'initialize', name: 'standInForDestination' },
        ),
      secretStore: (store: SecretStore): SecretStore => ({
        get: (name) => {
          this.record('secretsmanager:GetSecretValue', { kind: 'secret', name });
          return store.get(name);
        },
        create: (name, value) => {
          this.record('secretsmanager:CreateSecret', { kind: 'secret', name });
          return store.create(name, value);
        },
        delete: (name) => {
          this.record('secretsmanager:DeleteSecret', { kind: 'secret', name });
          return store.delete(name);
        },
      }),
      handler: <H extends (event: never) => Promise<unknown>>(name: string, handler: H): H =>
        ((event: never) => this.current.run(name as FunctionName, () => handler(event))) as H,
    };
  }
}

// The template side: its IAM policies with every reference resolved, as they would be in one account.

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
/** The random suffix Secrets Manager adds to a secret's name in its ARN. */
const SECRET_SUFFIX = '-AbCdEf';

interface TemplateResource {
  Type: string;
  Properties?: Input;
}
export interface TemplateJson {
  Resources: Record<string, TemplateResource>;
}

/** Where the local service's resources are in the template, and the template's secrets prefix. */
export interface ResourceMap {
  /** The table's logical id. */
  table: string;
  /** Each local queue URL's logical id. */
  queues: Record<string, string>;
  secretsPrefix: string;
  /** Each function's logical id. */
  functions: Record<FunctionName, string>;
}

const secretArn = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}${SECRET_SUFFIX}`;

/** A resource's ARN as CloudFormation would give it, its logical id standing for its physical name. */
function arnOf(template: TemplateJson, logicalId: string, attribute: string): string {
  const type = template.Resources[logicalId]?.Type;
  const at = `${REGION}:${ACCOUNT}`;
  if (type === 'AWS::DynamoDB::Table') return `arn:aws:dynamodb:${at}:table/${logicalId}`;
  if (type === 'AWS::SQS::Queue') return `arn:aws:sqs:${at}:${logicalId}`;
  if (type === 'AWS::Logs::LogGroup') return `arn:aws:logs:${at}:log-group:${logicalId}:*`;
  if (type === 'AWS::Lambda::Function') return `arn:aws:lambda:${at}:function:${logicalId}`;
  if (type === 'AWS::IAM::Role') return `arn:aws:iam::${ACCOUNT}:role/${logicalId}`;
  if ((type === 'Custom::WebhookSigningKey' || type === 'Custom::WebhookKeyring') && attribute === 'SecretArn')
    return secretArn(String(template.Resources[logicalId]?.Properties?.SecretName));
  return `arn:aws:unresolved:${at}:${logicalId}.${attribute}`;
}

/** A template value with its references resolved. */
function resolve(template: TemplateJson, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => resolve(template, item));
  if (value === null || typeof value !== 'object') return value;
  const object = value as Input;
  if ('Ref' in object) {
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': REGION,
      'AWS::AccountId': ACCOUNT,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    return pseudo[String(object.Ref)] ?? arnOf(template, String(object.Ref), 'Ref');
  }
  if ('Fn::GetAtt' in object) {
    const [logicalId, attribute] = object['Fn::GetAtt'] as [string, string];
    return arnOf(template, logicalId, attribute);
  }
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => String(resolve(template, part))).join(separator);
  }
  return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, resolve(template, item)]));
}

/** A function's role, as the logical id of its AWS::IAM::Role. */
const roleOf = (template: TemplateJson, functionId: string) =>
  (template.Resources[functionId]?.Properties?.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];

/** The identity policies of a role, resolved. */
function rolePolicies(template: TemplateJson, role: string): { name: string; policy: unknown }[] {
  return Object.entries(template.Resources)
    .filter(
      ([, resource]) =>
        resource.Type === 'AWS::IAM::Policy' &&
        (resource.Properties?.Roles as { Ref?: string }[]).some((ref) => ref.Ref === role),
    )
    .map(([name, resource]) => ({ name, policy: resolve(template, resource.Properties?.PolicyDocument) }));
}

/** The ARN a recorded call's resource has in the template's account. */
function callArn(map: ResourceMap, resource: LocalResource): string {
  if (resource.kind === 'table')
    return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${map.table}${resource.index ? `/index/${resource.index}` : ''}`;
  if (resource.kind === 'queue') return `arn:aws:sqs:${REGION}:${ACCOUNT}:${map.queues[resource.url] ?? resource.url}`;
  if (resource.kind === 'role') return resource.arn;
  // The local service keeps its secrets under its own prefix; the stack under secretsPrefix.
  return secretArn(resource.name.replace(new RegExp(`^${LOCAL_SECRETS_PREFIX}/`), `${map.secretsPrefix}/`));
}

/** Every distinct call, as `function action ARN`, that its function's policies do not allow. */
export async function deniedCalls(template: TemplateJson, map: ResourceMap, calls: RecordedCall[]): Promise<string[]> {
  const distinct = new Map<string, { fn: FunctionName; action: string; arn: string }>();
  for (const call of calls) {
    const arn = callArn(map, call.resource);
    distinct.set(`${call.fn} ${call.action} ${arn}`, { fn: call.fn, action: call.action, arn });
  }
  const denied: string[] = [];
  for (const [key, { fn, action, arn }] of distinct) {
    const role = roleOf(template, map.functions[fn]);
    const response = await runSimulation(
      {
        request: {
          principal: arnOf(template, role, 'Arn'),
          action,
          resource: { resource: arn, accountId: ACCOUNT },
          contextVariables: {},
        },
        identityPolicies: rolePolicies(template, role),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (response.resultType === 'error') denied.push(`${key}: ${JSON.stringify(response.errors)}`);
    else if (response.overallResult !== 'Allowed') denied.push(`${key}: ${response.overallResult}`);
  }
  return denied;
}
