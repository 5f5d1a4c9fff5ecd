#!/usr/bin/env node
/**
 * The CDK app (`npx cdk synth`, `npx cdk deploy`): one environment-agnostic stack, configured from
 * context, e.g. `-c stackName=LagoWebhooks -c alarmEmail=ops@example.com -c retrySchedule=5,300,1800`
 * (every key: docs/configuration.md), checked by cdk-nag's AWS Solutions rules.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { WebhookStack, webhookStackPropsFromContext } from '#infra/stack.ts';
import { SETTINGS } from '#shared/runtime/settings.ts';

const app = new App();
const { stackName = SETTINGS.stackName.default, ...props } = webhookStackPropsFromContext((key) =>
  app.node.tryGetContext(key),
);
new WebhookStack(app, stackName, {
  ...props,
  description: 'Lago-compatible webhook delivery: HTTP API, SQS, Lambda, DynamoDB',
});
// Any finding not acknowledged with a reason interrupts the synthesis.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
