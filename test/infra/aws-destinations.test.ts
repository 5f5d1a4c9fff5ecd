// Covers the stack's grants for AWS destinations (infra/constructs/functions.ts): with the default props no function may call STS and there is no SenderRoleArns output; with awsDestinationRoles set, the senders, and only they, may sts:AssumeRole exactly the roles it names (an account id standing for its every role), the senders get the allow-list in their environment, the SenderRoleArns output names their roles, and cdk-nag's AWS Solutions checks still pass.
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { WebhookStack, webhookStackPropsFromContext } from '#infra/stack.ts';

type Json = Record<string, unknown>;

function synth(context: Json = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new WebhookStack(
    app,
    'LagoWebhooks',
    webhookStackPropsFromContext((key) => context[key]),
  );
  return { app, stack, template: Template.fromStack(stack).toJSON() as { Resources: Json; Outputs: Json } };
}

/** Each role's `sts:` statements, as `action resource`, by the role's logical id. */
function stsGrants(template: { Resources: Json }): Record<string, string[]> {
  const grants: Record<string, string[]> = {};
  for (const resource of Object.values(template.Resources) as { Type: string; Properties: Json }[]) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const statements = (resource.Properties.PolicyDocument as { Statement: Json[] }).Statement;
    for (const role of resource.Properties.Roles as { Ref: string }[])
      for (const statement of statements)
        for (const action of [statement.Action]
          .flat()
          .map(String)
          .filter((a) => a.startsWith('sts:')))
          for (const r of [statement.Resource].flat()) (grants[role.Ref] ??= []).push(`${action} ${String(r)}`);
  }
  return grants;
}

const logicalId = (stack: WebhookStack, construct: IConstruct) =>
  stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);

describe('AWS destinations in the stack', () => {
  it('grant no function sts:AssumeRole and output no sender roles by default', () => {
    const { template } = synth();
    expect(stsGrants(template)).toEqual({});
    expect(template.Outputs.SenderRoleArns).toBeUndefined();
  });

  it('grant the senders, and only them, sts:AssumeRole on exactly the roles awsDestinationRoles names', () => {
    const { app, stack, template } = synth({
      awsDestinationRoles: 'arn:aws:iam::210987654321:role/lago-*,123456789012',
    });
    const senders = [stack.functions.senders.fast, stack.functions.senders.slow];
    const roles = senders.map((fn) => logicalId(stack, fn.executionRole));
    const expected = [
      'sts:AssumeRole arn:aws:iam::123456789012:role/*',
      'sts:AssumeRole arn:aws:iam::210987654321:role/lago-*',
    ];
    expect(
      Object.fromEntries(Object.entries(stsGrants(template)).map(([role, grants]) => [role, grants.sort()])),
    ).toEqual(Object.fromEntries(roles.map((role) => [role, expected])));
    for (const fn of senders) {
      const variables = (
        template.Resources[logicalId(stack, fn)] as { Properties: { Environment: { Variables: Json } } }
      ).Properties.Environment.Variables;
      expect(variables.WEBHOOK_AWS_DESTINATION_ROLES).toBe(
        'arn:aws:iam::210987654321:role/lago-*,arn:aws:iam::123456789012:role/*',
      );
    }
    expect(template.Outputs.SenderRoleArns).toMatchObject({
      Value: { 'Fn::Join': [',', roles.map((role) => ({ 'Fn::GetAtt': [role, 'Arn'] }))] },
    });
    const report = new AwsSolutionsChecks(app, { verbose: true }).validateScope(stack);
    expect(
      report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`),
    ).toEqual([]);
  });

  it('refuses an allow-list entry that is neither an account id nor a role ARN pattern', () => {
    expect(() => synth({ awsDestinationRoles: 'arn:aws:iam::210987654321:user/someone' })).toThrow(
      /context awsDestinationRoles: item 1: expected an account id or a role ARN pattern/,
    );
  });
});
