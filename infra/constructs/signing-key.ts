import { ArnFormat, CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { DERIVED_KEY_SECRETS, derivedKeySecretName, type DerivedKeySecret } from '#shared/domain/keys/provisioning.ts';
import { signingKeySecretName } from '#shared/domain/secrets.ts';
import { WebhookFunction } from './function.ts';

export interface SigningKeyProps {
  /** Prefix of the service's secret names; the key is `<prefix>/signing-key`. Required. */
  readonly secretsPrefix: string;
  /**
   * What happens to the key (and the custom resource's log groups) when it leaves the stack. The
   * default keeps it on stack delete and replacement, and deletes it when the stack's first create
   * rolls back, so a failed first deploy leaves no secret behind; DESTROY always deletes it.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
   */
  readonly removalPolicy?: RemovalPolicy;
  /** Retention of the custom resource's logs. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The deployment's keys, each in a secret of its own (docs/security.md#key-hierarchy): the RSA key for Lago's JWT
 * signatures, and the rings made from it at first, the public signing keys, the HMAC roots and the seal keys. Custom
 * resources generate them at deploy time, so no key is ever in the template: CDK's provider framework speaks
 * CloudFormation's protocol and calls functions/signing-key.ts, which does the work.
 */
export class SigningKey extends Construct {
  /** The custom resource's handler (functions/signing-key.ts); its log group feeds the error-log metric with the service's functions'. */
  readonly handler: WebhookFunction;
  /** CDK's provider framework: its function is the custom resource's service token and calls `handler`. */
  readonly provider: Provider;
  /** The custom resource; its `SecretArn` attribute is the key's ARN. */
  readonly resource: CustomResource;
  /** The private signing key's full ARN, random suffix included: readers get exactly this secret. The senders only. */
  readonly secretArn: string;
  /** The other key secrets' resources (Custom::WebhookKeyring), each made from the signing key at first. */
  readonly keyrings: Record<DerivedKeySecret, CustomResource>;
  /** Their full ARNs: the public signing keys (the api function), the HMAC roots and the seal keys. */
  readonly keyringArns: Record<DerivedKeySecret, string>;

  constructor(scope: Construct, id: string, props: SigningKeyProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    const logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    const secretName = signingKeySecretName(props.secretsPrefix);
    // Secrets Manager appends "-" and six random characters to a secret's name in its ARN.
    const arnPattern = (name: string) =>
      Stack.of(this).formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${name}-??????`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    const ringNames = DERIVED_KEY_SECRETS.map((ring) => derivedKeySecretName(ring, props.secretsPrefix));
    const ownSecrets = [secretName, ...ringNames].map(arnPattern);
    // Still "Provider", the id it had when it answered CloudFormation itself: its function, role and log group keep their logical ids.
    const handler = (this.handler = new WebhookFunction(this, 'Provider', {
      handler: 'signing-key',
      description: 'Generates the webhook keys in Secrets Manager (CloudFormation custom resources)',
      timeout: Duration.minutes(1),
      logRetention,
      removalPolicy,
    }));
    // RestoreSecret: a key scheduled for deletion under the same name is restored and adopted.
    handler.allow(
      ['secretsmanager:CreateSecret', 'secretsmanager:DescribeSecret', 'secretsmanager:RestoreSecret'],
      ownSecrets,
    );
    // The rings are made from the signing key: the legacy versions are what earlier revisions derived from it.
    handler.allow(['secretsmanager:GetSecretValue'], [arnPattern(secretName)]);
    // CloudFormation asks for a delete unless the key is always retained: RETAIN_ON_UPDATE_OR_DELETE
    // still deletes it when the first create rolls back, and that delete must succeed or the
    // rollback fails and leaves the secret behind.
    if (removalPolicy !== RemovalPolicy.RETAIN) handler.allow(['secretsmanager:DeleteSecret'], ownSecrets);

    // The framework's role, ours rather than its default (which carries AWSLambdaBasicExecutionRole):
    // it may write to its own log group and invoke the handler, as the framework grants, nothing more.
    const frameworkRole = new iam.Role(this, 'FrameworkRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Runs the provider framework of the signing key',
    });
    const frameworkLogs = new logs.LogGroup(this, 'FrameworkLogs', { retention: logRetention, removalPolicy });
    frameworkLogs.grantWrite(frameworkRole);
    this.provider = new Provider(this, 'Framework', {
      onEventHandler: handler,
      frameworkOnEventRole: frameworkRole,
      logGroup: frameworkLogs,
    });
    Validations.of(frameworkRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(handler.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason:
        "The provider framework's grant to invoke the handler covers its versions and aliases (the function's ARN followed by :*)",
    });

    // Not "Resource", the id of the resource the handler answered itself: CloudFormation cannot
    // change a custom resource's service token, so a stack deployed before gets a new resource,
    // which adopts the key the old one made (the old one, out of the template, is retained by the
    // default removal policy).
    this.resource = new CustomResource(this, 'Key', {
      serviceToken: this.provider.serviceToken,
      resourceType: 'Custom::WebhookSigningKey',
      properties: { SecretName: secretName },
      // Without it a framework that never answers would hold the stack for an hour.
      serviceTimeout: Duration.minutes(5),
      removalPolicy,
    });
    this.secretArn = this.resource.getAttString('SecretArn');

    this.keyrings = {
      'signing-public': this.keyring('PublicKeys', 'signing-public', props.secretsPrefix, removalPolicy),
      'hmac-root': this.keyring('HmacRoot', 'hmac-root', props.secretsPrefix, removalPolicy),
      seal: this.keyring('SealKey', 'seal', props.secretsPrefix, removalPolicy),
    };
    this.keyringArns = {
      'signing-public': this.keyrings['signing-public'].getAttString('SecretArn'),
      'hmac-root': this.keyrings['hmac-root'].getAttString('SecretArn'),
      seal: this.keyrings.seal.getAttString('SecretArn'),
    };
  }

  /**
   * A ring made from the signing key: a new resource beside the key's (an existing resource's service token never
   * changes). It adopts a secret already there, so a stack deployed before gets its rings on its next update.
   */
  private keyring(id: string, keyring: DerivedKeySecret, secretsPrefix: string, removalPolicy: RemovalPolicy) {
    const resource = new CustomResource(this, id, {
      serviceToken: this.provider.serviceToken,
      resourceType: 'Custom::WebhookKeyring',
      properties: {
        Keyring: keyring,
        SecretName: derivedKeySecretName(keyring, secretsPrefix),
        SigningKeySecretName: signingKeySecretName(secretsPrefix),
      },
      serviceTimeout: Duration.minutes(5),
      removalPolicy,
    });
    // Made from the signing key, so after it.
    resource.node.addDependency(this.resource);
    return resource;
  }
}
