import { ArnFormat, CustomResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { signingKeySecretName } from '#shared/secrets.ts';
import { WebhookFunction } from './function.ts';

export interface SigningKeyProps {
  /** Prefix of the service's secret names; the key is `<prefix>/signing-key`. Required. */
  readonly secretsPrefix: string;
  /** RETAIN keeps the key (and the custom resource's log group) when the stack goes; DESTROY deletes it. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Retention of the custom resource's logs. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The deployment's RSA key for Lago's JWT signatures, in Secrets Manager. A custom resource backed
 * by functions/signing-key.ts generates it at deploy time, so the key is never in the template.
 */
export class SigningKey extends Construct {
  /** The full ARN, random suffix included: readers get exactly this secret. */
  readonly secretArn: string;

  constructor(scope: Construct, id: string, props: SigningKeyProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const secretName = signingKeySecretName(props.secretsPrefix);
    // Secrets Manager appends "-" and six random characters to a secret's name in its ARN.
    const arnPattern = Stack.of(this).formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${secretName}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const provider = new WebhookFunction(this, 'Provider', {
      handler: 'signing-key',
      description: 'Generates the webhook signing key in Secrets Manager (CloudFormation custom resource)',
      timeout: Duration.minutes(1),
      logRetention: props.logRetention,
      removalPolicy,
    });
    provider.allow(['secretsmanager:CreateSecret', 'secretsmanager:DescribeSecret'], [arnPattern]);
    // CloudFormation only asks for a delete when the resource is not retained.
    if (removalPolicy === RemovalPolicy.DESTROY) provider.allow(['secretsmanager:DeleteSecret'], [arnPattern]);

    const resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.functionArn,
      resourceType: 'Custom::WebhookSigningKey',
      properties: { SecretName: secretName },
      // Without it a handler that never answers would hold the stack for an hour.
      serviceTimeout: Duration.minutes(5),
      removalPolicy,
    });
    this.secretArn = resource.getAttString('SecretArn');
  }
}
