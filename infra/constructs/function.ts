import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { CONSOLE_DIST, ensureConsoleBuilt } from '../console-build.ts';
import type { TableAccess, WebhookTable } from './data.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A handler file under functions/, exporting `handler`. */
type HandlerName = 'api' | 'admin' | 'sender' | 'sweeper' | 'signing-key' | 'console';

export interface WebhookFunctionProps {
  /** Which functions/<handler>.ts to deploy. Required. */
  readonly handler: HandlerName;
  /** @default - no description */
  readonly description?: string;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** More memory also means more CPU, which signing and TLS use. @default 512 */
  readonly memorySize?: number;
  /** Concurrency reserved for this function (and its cap). @default - none: the account's unreserved pool */
  readonly reservedConcurrentExecutions?: number;
  /** @default - no variables besides NODE_OPTIONS and STACK_NAME */
  readonly environment?: Record<string, string>;
  /** How long the function's log group keeps its logs. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** What happens to the log group when it leaves the stack. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (kept, except when the stack's first create rolls back) */
  readonly removalPolicy?: RemovalPolicy;
}

/** Copies the built console beside the console function's bundle (a local copy: no Docker). */
const consoleAssets = {
  beforeBundling: () => [],
  beforeInstall: () => [],
  afterBundling: (_inputDir: string, outputDir: string) => [`cp -R "${CONSOLE_DIST}" "${outputDir}/console"`],
};

/**
 * The defaults every function of the service shares, fixed once: Node.js 24 on arm64, an ESM
 * bundle built by the local esbuild (no Docker) with source maps, its own log group with a
 * retention, and a role of its own with no managed policy: it may write to its log group, and
 * each construct adds exactly what its handler calls.
 */
export class WebhookFunction extends NodejsFunction {
  /** The function's own role (its principal, for instance in the trust policies of AWS destinations' roles). */
  readonly executionRole: iam.Role;

  constructor(scope: Construct, id: string, props: WebhookFunctionProps) {
    // Made before the function (nothing can be its child before super()), so they sit beside it as <id>Role and <id>Logs.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the ${props.handler} function`,
    });
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    logGroup.grantWrite(role);
    // Only a stack that bundles its assets copies the console (consoleAssets); `npx cdk synth` on a fresh clone builds it here.
    if (props.handler === 'console' && Stack.of(scope).bundlingRequired) ensureConsoleBuilt();
    super(scope, id, {
      entry: `${ROOT}functions/${props.handler}.ts`,
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      timeout: props.timeout ?? Duration.seconds(10),
      // X-Ray traces each invocation (Powertools' Tracer adds the handler's segment); CDK grants the role xray:PutTraceSegments and xray:PutTelemetryRecords.
      tracing: lambda.Tracing.ACTIVE,
      role,
      logGroup,
      // STACK_NAME is the Stack dimension of the function's EMF metrics, which the alarms and the dashboard read.
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        STACK_NAME: Stack.of(scope).stackName,
        ...props.environment,
      },
      projectRoot: ROOT,
      depsLockFilePath: `${ROOT}package-lock.json`,
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        // Prefer the packages' ES module builds: smaller bundles.
        mainFields: ['module', 'main'],
        // The AWS SDK v3 is the Node.js 24 runtime's copy, not bundled: Powertools (its Tracer brings
        // the X-Ray SDK) would otherwise take the sender's bundle past 1 MB. Locally and in tests
        // the SDK is package-lock.json's.
        bundleAwsSDK: false,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // CommonJS dependencies bundled into an ES module still call require() for Node's built-ins.
        banner:
          "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
        ...(props.handler === 'console' ? { commandHooks: consoleAssets } : {}),
      },
    });
    this.executionRole = role;
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions',
    });
  }

  /** Gives the handler the table: its name in TABLE_NAME and the matching grant, so the two never drift apart. */
  bindTable(table: WebhookTable, access: TableAccess): this {
    this.addEnvironment('TABLE_NAME', table.tableName);
    table.grant(this, access);
    return this;
  }

  /**
   * Allows `actions` on `resources`. A resource with a wildcard needs `wildcard`: the cdk-nag
   * finding it causes and the reason it is needed, recorded on this function's role.
   */
  allow(actions: string[], resources: string[], wildcard?: { finding: string; reason: string }): this {
    this.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
    if (wildcard) {
      Validations.of(this.executionRole).acknowledge({
        id: `AwsSolutions-IAM5[${wildcard.finding}]`,
        reason: wildcard.reason,
      });
    }
    return this;
  }
}
