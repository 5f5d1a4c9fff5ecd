import { ArnFormat, CustomResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { signingKeySecretName } from '#shared/secrets.ts';
import { WebhookFunction } from './function.ts';

export interface SigningKeyProps {
  /** Prefix of the service's secret names; the key is `<prefix>/signing-key`. Required. */
  readonly secretsPrefix: string;
  /**
   * What happens to the key (and the provider's log group) when it leaves the stack. The default
   * keeps it on stack delete and replacement, and deletes it when the stack's first create rolls
   * back, so a failed first deploy leaves no secret behind; DESTROY always deletes it.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
   */
  readonly removalPolicy?: RemovalPolicy;
  /** Retention of the custom resource's logs. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The deployment's RSA key for Lago's JWT signatures, in Secrets Manager. A custom resource backed
 * by functions/signing-key.ts generates it at deploy time, so the key is never in the template.
 */
export class SigningKey extends Construct {
  /** The custom resource's handler; its log group feeds the error-log metric with the service's functions'. */
  readonly provider: WebhookFunction;
  /** The full ARN, random suffix included: readers get exactly this secret. */
  readonly secretArn: string;

  constructor(scope: Construct, id: string, props: SigningKeyProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    const secretName = signingKeySecretName(props.secretsPrefix);
    // Secrets Manager appends "-" and six random characters to a secret's name in its ARN.
    const arnPattern = Stack.of(this).formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${secretName}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const provider = (this.provider = new WebhookFunction(this, 'Provider', {
      handler: 'signing-key',
      description: 'Generates the webhook signing key in Secrets Manager (CloudFormation custom resource)',
      timeout: Duration.minutes(1),
      logRetention: props.logRetention,
      removalPolicy,
    }));
    provider.allow(['secretsmanager:CreateSecret', 'secretsmanager:DescribeSecret'], [arnPattern]);
    // CloudFormation asks for a delete unless the key is always retained: RETAIN_ON_UPDATE_OR_DELETE
    // still deletes it when the first create rolls back, and that delete must succeed or the
    // rollback fails and leaves the secret behind.
    if (removalPolicy !== RemovalPolicy.RETAIN) provider.allow(['secretsmanager:DeleteSecret'], [arnPattern]);

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
