// Covers upgrades in place: the stateful resources of the synthesized template (table, queues, KMS key, signing key, log groups, HTTP API) against the committed snapshot test/infra/stateful-resources.json. An update that would replace or remove one, or change more than one global secondary index, fails unless the snapshot is updated on purpose, naming an UPGRADING.md entry; the guard is shown to catch a replaced table, a removed queue, a new service token and two index changes.
import { readFileSync, writeFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { WebhookStack } from '#infra/stack.ts';
import { statefulResources, upgradeProblems, type StatefulResources } from './stateful.ts';

const SNAPSHOT_FILE = new URL('./stateful-resources.json', import.meta.url);
const UPGRADING = readFileSync(new URL('../../UPGRADING.md', import.meta.url), 'utf8');
const CDK_CONTEXT = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }
).context;

/** How to update the snapshot on purpose. */
const HOW_TO_UPDATE =
  'UPDATE_STATEFUL_SNAPSHOT="<an UPGRADING.md heading, without ###>" npx vitest run --project infra test/infra/stateful-resources.test.ts';

interface Snapshot {
  /** The UPGRADING.md entry (its heading, without `### `) that tells deployments about the last change to these resources. */
  upgrading: string;
  about: string;
  resources: StatefulResources;
}

type TemplateJson = Parameters<typeof statefulResources>[0];

const hasEntry = (heading: string) => UPGRADING.split('\n').includes(`### ${heading}`);

let template: TemplateJson;
let current: StatefulResources;
let snapshot: Snapshot;

beforeAll(() => {
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  template = Template.fromStack(new WebhookStack(app, 'LagoWebhooks')).toJSON() as TemplateJson;
  current = statefulResources(template);
  snapshot = JSON.parse(readFileSync(SNAPSHOT_FILE, 'utf8')) as Snapshot;
  const requested = process.env.UPDATE_STATEFUL_SNAPSHOT;
  if (requested) snapshot = updateSnapshot(requested);
});

/** Writes the snapshot of this template, refusing a change that needs an entry without a new one. */
function updateSnapshot(heading: string): Snapshot {
  if (!hasEntry(heading)) throw new Error(`UPGRADING.md has no heading "### ${heading}"`);
  const problems = upgradeProblems(snapshot.resources, current);
  if (problems.length > 0 && heading === snapshot.upgrading)
    throw new Error(`this change needs a new UPGRADING.md entry, not "${heading}" again:\n${problems.join('\n')}`);
  const updated: Snapshot = { ...snapshot, upgrading: heading, resources: current };
  writeFileSync(SNAPSHOT_FILE, `${JSON.stringify(updated, null, 2)}\n`);
  return updated;
}

describe('the stateful resources against the committed snapshot', () => {
  it('an update from the snapshot to this template replaces nothing, removes nothing, and changes at most one index per table', () => {
    expect(upgradeProblems(snapshot.resources, current), `if on purpose: ${HOW_TO_UPDATE}`).toEqual([]);
  });

  it("the snapshot is exactly this template's, so the next change is compared with what deploys now", () => {
    expect(current, `update it: ${HOW_TO_UPDATE}`).toEqual(snapshot.resources);
  });

  it('the snapshot names an UPGRADING.md entry that exists', () => {
    expect(hasEntry(snapshot.upgrading), `no "### ${snapshot.upgrading}" in UPGRADING.md`).toBe(true);
  });

  it('covers the table, the three queues, the KMS key, the signing key, every log group and the HTTP API', () => {
    const count = (type: string) => Object.values(current).filter((resource) => resource.type === type).length;
    expect(count('AWS::DynamoDB::Table')).toBe(1);
    expect(count('AWS::SQS::Queue')).toBe(3);
    expect(count('AWS::KMS::Key')).toBe(1);
    expect(count('Custom::WebhookSigningKey')).toBe(1);
    expect(count('AWS::ApiGatewayV2::Api')).toBe(1);
    expect(count('AWS::Logs::LogGroup')).toBe(
      Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Logs::LogGroup').length,
    );
  });
});

describe('the guard, on mutated templates', () => {
  type Resource = TemplateJson['Resources'][string] & { Properties: Record<string, unknown> };
  /** A copy of the template with one resource of a type changed by `change`. */
  function mutated(type: string, change: (resource: Resource, resources: Record<string, Resource>) => void) {
    const copy = structuredClone(template) as { Resources: Record<string, Resource> };
    const [found] = Object.values(copy.Resources).filter((resource) => resource.Type === type);
    change(found!, copy.Resources);
    return upgradeProblems(current, statefulResources(copy));
  }
  const tableId = () => Object.keys(current).find((id) => current[id]!.type === 'AWS::DynamoDB::Table')!;

  it('fails on a replaced table: a changed partition key name', () => {
    const problems = mutated('AWS::DynamoDB::Table', (table) => {
      const keys = table.Properties.KeySchema as { AttributeName: string; KeyType: string }[];
      keys[0]!.AttributeName = 'partition';
    });
    expect(problems).toEqual([
      expect.stringMatching(new RegExp(`^${tableId()} \\(AWS::DynamoDB::Table\\) is replaced: KeySchema changes`)),
    ]);
  });

  it('fails on a removed queue', () => {
    const queueId = Object.keys(current).find((id) => current[id]!.type === 'AWS::SQS::Queue')!;
    const copy = structuredClone(template);
    delete copy.Resources[queueId];
    expect(upgradeProblems(current, statefulResources(copy))).toEqual([
      `${queueId} (AWS::SQS::Queue) is removed: CloudFormation would delete or orphan it`,
    ]);
  });

  it("fails on a new service token for the signing key's custom resource, which CloudFormation cannot change", () => {
    const problems = mutated('Custom::WebhookSigningKey', (key) => {
      key.Properties.ServiceToken = { 'Fn::GetAtt': ['SomeOtherProvider', 'Arn'] };
    });
    expect(problems).toEqual([
      expect.stringContaining('(Custom::WebhookSigningKey) is replaced: ServiceToken changes'),
    ]);
  });

  it('allows one global secondary index change, and fails on two', () => {
    const addIndexes = (count: number) =>
      mutated('AWS::DynamoDB::Table', (table) => {
        const indexes = table.Properties.GlobalSecondaryIndexes as Record<string, unknown>[];
        for (let i = 0; i < count; i++)
          indexes.push({
            IndexName: `extra${i}`,
            KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          });
      });
    expect(addIndexes(1)).toEqual([]);
    expect(addIndexes(2)).toEqual([
      `${tableId()} (AWS::DynamoDB::Table) changes 2 global secondary indexes (extra0, extra1): CloudFormation changes one per update`,
    ]);
  });

  it('allows what updates in place: a new retention, a new resource', () => {
    const problems = mutated('AWS::SQS::Queue', (queue, resources) => {
      queue.Properties.MessageRetentionPeriod = 60;
      resources.Another = { Type: 'AWS::SQS::Queue', Properties: {} };
    });
    expect(problems).toEqual([]);
  });
});
