import { z } from 'zod';
import { DEFAULT_WEBHOOK_SHARDS } from '../adapters/dynamodb/webhook-layouts.ts';
import { LANE_MAPPINGS } from '../domain/delivery/policy.ts';
import {
  DEFAULT_RETRY_AFTER_MAX_SECONDS,
  DEFAULT_RETRY_SCHEDULE,
  MAX_DELAY_SECONDS,
} from '../domain/delivery/retry-schedule.ts';
import { parseCidrs } from '../domain/delivery/ssrf.ts';
import { LOG_LEVELS } from './logger.ts';

/**
 * Every setting of the service, declared once. A declaration names the setting's environment
 * variable and its CDK context key (either or both), parses the text of a value, and gives its
 * default and its line of documentation. From this table come the delivery configuration and its
 * environment (config.ts), local mode's settings (infra/local/env.ts), the CDK stack's props and
 * their parsing from context (infra/stack.ts), and the tables of docs/configuration.md
 * (`npm run docs:settings`).
 */

/** Where a setting applies. */
type Scope =
  /** The functions read it on AWS (the stack passes it in their environment) and `npm start` reads it too. */
  | 'delivery'
  /** Only `npm start` and the CLI read it, from their environment. */
  | 'local'
  /** Only the CDK app reads it, from context. */
  | 'aws';

/** Parses the text of a value: an environment variable, or a context value (cdk.json's numbers, booleans and arrays are written as text first). */
type Parser = z.ZodType<unknown, string>;

export interface SettingDeclaration<P extends Parser = Parser> {
  readonly scope: Scope;
  readonly env?: string;
  /** An earlier name of the variable, still read when `env` is unset. */
  readonly formerEnv?: string;
  readonly context?: string;
  /** An earlier context key, still read when `context` is unset. */
  readonly formerContext?: string;
  readonly parse: P;
  /** The value when the setting is unset. A setting without one is optional. */
  readonly default?: Readonly<z.output<P>>;
  /** The value `npm start` uses when the setting is unset, where it differs from `default`. */
  readonly localDefault?: Readonly<z.output<P>>;
  /** The default as the docs show it, where the value alone would not say it. */
  readonly shownDefault?: string;
  /** One line for the docs' table: what the setting does. */
  readonly doc: string;
}

/** Checks that the default matches what the parser returns, keeping the declaration's literal types. */
const declare = <P extends Parser, const D extends Omit<SettingDeclaration<P>, 'parse'>>(parse: P, declaration: D) =>
  ({ ...declaration, parse }) as D & { readonly parse: P };

// The parsers. Each message says what was expected; the reader adds the setting's name and the value it got.

const trimmed = () => z.string().trim();

/** A number as Number() reads it; by default a whole one. */
function number({ min, max, whole = true }: { min?: number; max?: number; whole?: boolean } = {}) {
  let checked = z.number({ error: 'expected a number' });
  if (whole) checked = checked.int({ error: 'expected a whole number' });
  if (min !== undefined) checked = checked.min(min, { error: `expected at least ${min}` });
  if (max !== undefined) checked = checked.max(max, { error: `expected at most ${max}` });
  return trimmed()
    .transform((raw) => (raw === '' ? Number.NaN : Number(raw)))
    .pipe(checked);
}

const boolean = () =>
  trimmed()
    .pipe(z.enum(['true', 'false'], { error: 'expected true or false' }))
    .transform((raw) => raw === 'true');

const nonEmpty = () => trimmed().min(1, { error: 'expected a non-empty string' });

/** Comma-separated, blanks ignored: an empty value is an empty list. */
const list = () =>
  z.string().transform((raw) =>
    raw
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== ''),
  );

const retrySchedule = () =>
  list().pipe(
    z
      .array(
        z
          .string()
          .regex(/^\d+$/, { error: 'expected whole seconds' })
          .transform(Number)
          .pipe(z.number().max(MAX_DELAY_SECONDS, { error: `expected waits of at most ${MAX_DELAY_SECONDS} s` })),
      )
      .max(24, { error: 'expected at most 24 waits' }),
  );

const cidrs = () =>
  z.string().transform((raw, ctx) => {
    try {
      return parseCidrs(raw).map((cidr) => cidr.source);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

/**
 * Role ARN patterns (`*` any run of characters), comma-separated; a bare account id stands for every
 * role of that account. Each becomes a resource of the senders' `sts:AssumeRole` grant as written.
 */
const rolePatterns = () =>
  list().pipe(
    z.array(
      z
        .string()
        .transform((raw) => (/^\d{12}$/.test(raw) ? `arn:aws:iam::${raw}:role/*` : raw))
        .pipe(
          z.string().regex(/^arn:aws:iam::(\d{12}|\*):role\/[\w+=,.@/*-]+$/, {
            error: 'expected an account id or a role ARN pattern such as arn:aws:iam::123456789012:role/lago-*',
          }),
        ),
    ),
  );

/** An emulator's URL, http or https with a host and nothing after the port; read as its origin. */
const endpoint = () =>
  trimmed().transform((raw, ctx) => {
    const url = URL.parse(raw);
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.pathname !== '/' || url.search || url.hash) {
      ctx.addIssue({ code: 'custom', message: 'expected a URL such as http://127.0.0.1:8000' });
      return z.NEVER;
    }
    return url.origin;
  });

/**
 * A CSP `frame-ancestors` source list: `'none'` alone, or `'self'` and http(s) origins (a `*.` host wildcard
 * allowed), space-separated. Nothing else: a value that would break out of the directive (`;`, `,`) is refused.
 */
const frameAncestors = () =>
  trimmed()
    .refine(
      (raw) =>
        raw === "'none'" ||
        (raw !== '' &&
          raw
            .split(/ +/)
            .every((source) => source === "'self'" || /^https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$/.test(source))),
      { error: "expected 'none', or 'self' and origins such as https://app.example.com, space-separated" },
    )
    .transform((raw) => raw.split(/ +/).join(' '));

/** CloudWatch Logs' retention periods, in days (aws-cdk-lib's RetentionDays, test/infra/props.test.ts checks). */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, 9999,
] as const;

/**
 * CloudFormation's removal policies (aws-cdk-lib's RemovalPolicy values, which a prop may take).
 * From context only two: `retain` keeps the resources except when the stack's first create rolls
 * back (RETAIN_ON_UPDATE_OR_DELETE), `destroy` deletes them with the stack.
 */
type RemovalPolicyName = 'destroy' | 'retain' | 'snapshot' | 'retain-on-update-or-delete';

const removalPolicy = () =>
  trimmed()
    .toLowerCase()
    .pipe(z.enum(['retain', 'destroy'], { error: 'expected retain or destroy' }))
    .transform((raw): RemovalPolicyName => (raw === 'retain' ? 'retain-on-update-or-delete' : 'destroy'));

export const SETTINGS = {
  // Delivery: read by the functions on AWS and by npm start.
  retrySchedule: declare(retrySchedule(), {
    scope: 'delivery',
    env: 'WEBHOOK_RETRY_SCHEDULE',
    context: 'retrySchedule',
    default: DEFAULT_RETRY_SCHEDULE,
    doc: "seconds to wait before each retry; attempts = entries + 1; each at most 43,080 (12 h), and 7 days in all with jitter; waits over 15 minutes are timers in the store. The queues' `maxReceiveCount` does not follow it: it is 5, for poison messages only",
  }),
  retryAfterMaxSeconds: declare(number({ min: 1, max: MAX_DELAY_SECONDS }), {
    scope: 'delivery',
    env: 'WEBHOOK_RETRY_AFTER_MAX_SECONDS',
    context: 'retryAfterMaxSeconds',
    default: DEFAULT_RETRY_AFTER_MAX_SECONDS,
    doc: "the longest wait a receiver's `Retry-After` on a 429 or 503 gets: the next attempt waits what it asks, up to this, instead of the schedule's step (docs/delivery.md)",
  }),
  timeoutMs: declare(number({ min: 100, max: 60_000 }), {
    scope: 'delivery',
    env: 'WEBHOOK_TIMEOUT_MS',
    context: 'webhookTimeoutMs',
    default: 15_000,
    doc: "per attempt, connect plus response; on AWS each lane's sender timeout and its queue's visibility timeout (6 times the sender's) follow",
  }),
  allowCidrs: declare(cidrs(), {
    scope: 'delivery',
    env: 'WEBHOOK_ALLOW_CIDRS',
    context: 'allowCidrs',
    default: [],
    // Loopback, so receivers on this machine work.
    localDefault: ['127.0.0.0/8', '::1/128'],
    doc: 'comma-separated CIDRs exempt from the SSRF guard',
  }),
  webhookRetentionDays: declare(number({ min: 1, max: 3650 }), {
    scope: 'delivery',
    env: 'WEBHOOK_RETENTION_DAYS',
    formerEnv: 'WEBHOOK_LOG_RETENTION_DAYS',
    context: 'webhookRetentionDays',
    formerContext: 'logRetentionDays',
    default: 90,
    doc: "days before a webhook (its state, payload and responses) expires. Not the log groups' retention (`logGroupRetentionDays`)",
  }),
  webhookShards: declare(number({ min: 1, max: 32 }), {
    scope: 'delivery',
    env: 'WEBHOOK_SHARDS',
    context: 'webhookShards',
    default: DEFAULT_WEBHOOK_SHARDS,
    doc: "DynamoDB partitions an endpoint's webhooks are spread over: one endpoint takes about 500 deliveries a second per shard ([limits.md](limits.md#delivery)). Fixed per endpoint when it gets its shards (at creation; an endpoint from before shards, with its first publish since, for webhooks from 15 minutes later on): a change applies to endpoints from then on, existing ones keep theirs",
  }),
  allowHttp: declare(boolean(), {
    scope: 'delivery',
    env: 'WEBHOOK_ALLOW_HTTP',
    context: 'allowHttp',
    default: false,
    localDefault: true,
    doc: 'allow plain `http://` endpoint URLs (https only by default on AWS)',
  }),
  issuer: declare(trimmed().pipe(z.url({ error: 'expected a URL' })), {
    scope: 'delivery',
    env: 'API_BASE_URL',
    context: 'issuer',
    default: 'http://localhost:3000',
    shownDefault:
      "on AWS `https://<domainName>` with a custom domain, else the API's URL; with `npm start` `http://127.0.0.1:$PORT`",
    doc: 'the `iss` claim of JWT signatures, as Lago uses `LAGO_API_URL`. Receivers may check it: keep it the same across upgrades (a custom domain does)',
  }),

  fastLaneMs: declare(number({ min: 100, max: 60_000 }), {
    scope: 'delivery',
    env: 'WEBHOOK_FAST_LANE_MS',
    default: 3_000,
    doc: 'a fast-lane attempt still running after this is cut and made again in the slow lane',
  }),
  slowAfterMs: declare(number({ min: 50, max: 60_000 }), {
    scope: 'delivery',
    env: 'WEBHOOK_SLOW_AFTER_MS',
    default: 1_000,
    doc: 'an attempt still running after this marks its endpoint slow: its webhooks take the slow lane for 15 minutes; at most `WEBHOOK_FAST_LANE_MS`',
  }),
  fastLaneBatchSize: declare(number({ min: 1, max: 10 }), {
    scope: 'delivery',
    env: 'WEBHOOK_FAST_LANE_BATCH_SIZE',
    context: 'fastLaneBatchSize',
    default: LANE_MAPPINGS.fast.batchSize,
    doc: "messages per sender invocation on the fast lane (1 to 10), attempted side by side: the lane holds batch size × concurrency attempts at once ([delivery.md](delivery.md#lanes) gives each lane's throughput)",
  }),
  fastLaneConcurrency: declare(number({ min: 1 }), {
    scope: 'delivery',
    env: 'WEBHOOK_FAST_LANE_CONCURRENCY',
    default: LANE_MAPPINGS.fast.maxConcurrency,
    doc: "most concurrent sender invocations on the fast lane: locally the poller's loops; on AWS the stack sets it from `senderMaxConcurrency`, its event source mapping's maximum concurrency",
  }),
  slowLaneBatchSize: declare(number({ min: 1, max: 10 }), {
    scope: 'delivery',
    env: 'WEBHOOK_SLOW_LANE_BATCH_SIZE',
    context: 'slowLaneBatchSize',
    default: LANE_MAPPINGS.slow.batchSize,
    doc: 'the same as `WEBHOOK_FAST_LANE_BATCH_SIZE` for the slow lane',
  }),
  slowLaneConcurrency: declare(number({ min: 1 }), {
    scope: 'delivery',
    env: 'WEBHOOK_SLOW_LANE_CONCURRENCY',
    default: LANE_MAPPINGS.slow.maxConcurrency,
    doc: 'the same as `WEBHOOK_FAST_LANE_CONCURRENCY` for the slow lane (on AWS from `slowSenderMaxConcurrency`)',
  }),
  autoDisableAfterSeconds: declare(number({ min: 0, max: 90 * 86_400 }), {
    scope: 'delivery',
    env: 'WEBHOOK_AUTO_DISABLE_AFTER',
    context: 'autoDisableAfterSeconds',
    // 5 days, as Svix.
    default: 5 * 86_400,
    shownDefault: '`432000` (5 days)',
    doc: 'seconds of nothing but failed attempts after which an endpoint is disabled; `0` never; at most 90 days',
  }),
  awsDestinationRoles: declare(rolePatterns(), {
    scope: 'delivery',
    env: 'WEBHOOK_AWS_DESTINATION_ROLES',
    context: 'awsDestinationRoles',
    default: [],
    doc: "the customers' roles the senders may assume to deliver to SQS queues and EventBridge buses ([destinations.md](destinations.md)): comma-separated role ARN patterns (`arn:aws:iam::123456789012:role/lago-*`) or account ids (every role of the account). On AWS the senders get `sts:AssumeRole` on exactly these; empty, AWS destinations are off and an endpoint naming one is refused (locally the emulator's queues need no role)",
  }),
  eventBridgeSource: declare(
    nonEmpty()
      .max(256, { error: 'expected at most 256 characters' })
      .refine((source) => !source.startsWith('aws.'), { error: 'expected a source not starting with aws.' }),
    {
      scope: 'delivery',
      env: 'WEBHOOK_EVENTBRIDGE_SOURCE',
      context: 'eventBridgeSource',
      default: 'lago.webhooks',
      doc: 'the `source` of the events delivered to EventBridge buses ([destinations.md](destinations.md))',
    },
  ),
  breakerFailures: declare(number({ min: 0, max: 1000 }), {
    scope: 'delivery',
    env: 'WEBHOOK_BREAKER_FAILURES',
    context: 'breakerFailures',
    // Off unless set: with it, a failing endpoint's webhooks wait instead of running out their schedule (as Lago's do).
    default: 0,
    doc: "consecutive failed attempts (seen by one sender process) that open an endpoint's circuit breaker: its webhooks wait without spending attempts until a probe succeeds (docs/delivery.md); `0`, the default, never opens it; 10 is a fair value",
  }),
  breakerCooldownSeconds: declare(number({ min: 1, max: 890 }), {
    scope: 'delivery',
    env: 'WEBHOOK_BREAKER_COOLDOWN_SECONDS',
    context: 'breakerCooldownSeconds',
    default: 60,
    doc: 'seconds an open circuit breaker waits before its probe, and again after each failed probe; at most 890 (the probe is one delayed message)',
  }),
  keyCacheSeconds: declare(number({ min: 1, max: 3600 }), {
    scope: 'delivery',
    env: 'WEBHOOK_KEY_CACHE_SECONDS',
    default: 300,
    doc: "how long a process keeps the key secrets in memory: a key rotation's new signing key reaches every process within it (`keys rotate signing --activate-in` should be longer); new HMAC roots and seal keys are read at once where they are met",
  }),

  consoleFrameAncestors: declare(frameAncestors(), {
    scope: 'delivery',
    env: 'CONSOLE_FRAME_ANCESTORS',
    context: 'consoleFrameAncestors',
    default: "'none'",
    doc: "the console's CSP `frame-ancestors`: who may embed it in a frame (a portal link in a customer's app). `'none'` (no one), or a space-separated list of `'self'` and origins such as `https://app.example.com`; anything but `'none'` drops `X-Frame-Options: DENY`",
  }),

  // Rate limits (shared/domain/organizations/rate-limits.ts): per organization, in fixed windows; publishing and deliveries are not limited.
  rateLimitTestEventsPerMinute: declare(number({ min: 0, max: 100_000 }), {
    scope: 'delivery',
    env: 'RATE_LIMIT_TEST_EVENTS_PER_MINUTE',
    context: 'rateLimitTestEventsPerMinute',
    // Ten endpoints tested three times each; a loop of test events stops here.
    default: 30,
    doc: 'test events an organization may send a minute, to all its endpoints together; `0` no limit',
  }),
  rateLimitEndpointTestEventsPerMinute: declare(number({ min: 0, max: 100_000 }), {
    scope: 'delivery',
    env: 'RATE_LIMIT_ENDPOINT_TEST_EVENTS_PER_MINUTE',
    context: 'rateLimitEndpointTestEventsPerMinute',
    default: 10,
    doc: 'test events a minute to any one endpoint; `0` no limit',
  }),
  rateLimitRedeliveriesPerMinute: declare(number({ min: 0, max: 100_000 }), {
    scope: 'delivery',
    env: 'RATE_LIMIT_REDELIVERIES_PER_MINUTE',
    context: 'rateLimitRedeliveriesPerMinute',
    // Two a second: far above clicks in the console; bulk work has recover.
    default: 120,
    doc: 'retries and resends of single webhooks an organization may ask for a minute, each a new round of attempts; `0` no limit',
  }),
  rateLimitRecoveriesPerHour: declare(number({ min: 0, max: 100_000 }), {
    scope: 'delivery',
    env: 'RATE_LIMIT_RECOVERIES_PER_HOUR',
    context: 'rateLimitRecoveriesPerHour',
    // Each call re-queues up to 5,000 failed webhooks: 20 calls recover 100,000 in an hour.
    default: 20,
    doc: 'bulk recover calls an organization may make an hour; `0` no limit',
  }),
  rateLimitRotationsPerHour: declare(number({ min: 0, max: 100_000 }), {
    scope: 'delivery',
    env: 'RATE_LIMIT_ROTATIONS_PER_HOUR',
    context: 'rateLimitRotationsPerHour',
    default: 10,
    doc: 'HMAC token rotations an organization may make an hour; `0` no limit',
  }),

  // Local mode: npm start and the CLI. An empty variable counts as unset.
  port: declare(number({ min: 0, max: 65_535 }), {
    scope: 'local',
    env: 'PORT',
    default: 3000,
    doc: 'local API port (`npm start`, and where the CLI calls it)',
  }),
  dataDir: declare(trimmed(), {
    scope: 'local',
    env: 'DATA_DIR',
    default: '.data',
    doc: "local data: DynamoDB Local files, queues, secrets, the admin token and the emulators' generated credentials; made owner-only (0700)",
  }),
  adminToken: declare(trimmed(), {
    scope: 'local',
    env: 'ADMIN_TOKEN',
    shownDefault: 'generated once, saved in `$DATA_DIR/admin-token`',
    doc: 'local operator token',
  }),
  sweepIntervalMs: declare(number({ min: 100 }), {
    scope: 'local',
    env: 'SWEEP_INTERVAL_MS',
    default: 60_000,
    doc: 'local sweeper period',
  }),
  logLevel: declare(
    trimmed()
      .toLowerCase()
      .pipe(z.enum(LOG_LEVELS, { error: `expected ${LOG_LEVELS.join(', ')}` })),
    {
      scope: 'delivery',
      env: 'LOG_LEVEL',
      context: 'logLevel',
      default: 'info',
      doc: `the functions' and \`npm start\`'s log level: ${LOG_LEVELS.map((level) => `\`${level}\``).join(', ')}`,
    },
  ),
  dynamoDbPort: declare(number({ min: 0, max: 65_535 }), {
    scope: 'local',
    env: 'DYNAMODB_PORT',
    shownDefault: 'a free port',
    doc: "fixes DynamoDB Local's port",
  }),
  sqsPort: declare(number({ min: 0, max: 65_535 }), {
    scope: 'local',
    env: 'SQS_PORT',
    shownDefault: 'a free port',
    doc: "fixes the SQS emulator's port",
  }),
  dynamoDbEndpoint: declare(endpoint(), {
    scope: 'local',
    env: 'DYNAMODB_ENDPOINT',
    shownDefault: 'none',
    doc: 'use a DynamoDB Local that is already running (for example `http://127.0.0.1:8000`) instead of starting one; the table is created there if missing, and `npm start` leaves it running when it stops. The credentials sent are the random ones kept in `DATA_DIR`',
  }),
  sqsEndpoint: declare(endpoint(), {
    scope: 'local',
    env: 'SQS_ENDPOINT',
    shownDefault: 'none',
    doc: 'the same for an SQS emulator: the queues are created there if missing',
  }),
  awsLimitsScale: declare(number({ min: 0.0001, max: 1, whole: false }), {
    scope: 'local',
    env: 'AWS_LIMITS_SCALE',
    shownDefault: 'none: no limits',
    doc: "runs local mode on a scale model of AWS's limits ([aws-limits.md](aws-limits.md)): DynamoDB's per-key throughput and SQS's in-flight cap times this factor (0.05: 50 WCU/s per key)",
  }),
  awsLimitsRetentionSeconds: declare(number({ min: 1 }), {
    scope: 'local',
    env: 'AWS_LIMITS_RETENTION_SECONDS',
    shownDefault: "the queues' own",
    doc: 'with `AWS_LIMITS_SCALE`: SQS message retention, for tests of messages that outlive their queue',
  }),

  // AWS: the CDK app's context (-c key=value, or cdk.json).
  stackName: declare(nonEmpty(), {
    scope: 'aws',
    context: 'stackName',
    default: 'LagoWebhooks',
    doc: "the stack's name, also the Secrets Manager prefix and the `Stack` dimension of the service's metrics",
  }),
  alarmEmail: declare(nonEmpty(), {
    scope: 'aws',
    context: 'alarmEmail',
    shownDefault: 'none',
    doc: 'an address subscribed to the alarm topic (confirm the email AWS sends)',
  }),
  removalPolicy: declare(removalPolicy(), {
    scope: 'aws',
    context: 'removalPolicy',
    default: 'retain-on-update-or-delete',
    shownDefault: '`retain`',
    doc: "`retain`: the table, queues, signing key, log groups and KMS key are kept when the stack is deleted or they are replaced, and deleted only when the stack's first create rolls back, so a failed first deploy leaves nothing behind (CloudFormation `DeletionPolicy: RetainExceptOnCreate`); `destroy`: deleted with the stack (the table only with `deletionProtection=false`)",
  }),
  deletionProtection: declare(boolean(), {
    scope: 'aws',
    context: 'deletionProtection',
    default: false,
    doc: 'DynamoDB deletion protection; off by default because it would block the rollback of a failed first deploy: turn it on once the stack exists (`-c deletionProtection=true`)',
  }),
  // SQS event source mappings take a maximum concurrency of 2 to 1000.
  senderMaxConcurrency: declare(number({ min: 2, max: 1000 }), {
    scope: 'aws',
    context: 'senderMaxConcurrency',
    default: LANE_MAPPINGS.fast.maxConcurrency,
    doc: "most concurrent sender invocations on the fast lane (2 to 1000): its event source mapping's maximum concurrency, drawn from the account's unreserved concurrency",
  }),
  slowSenderMaxConcurrency: declare(number({ min: 2, max: 1000 }), {
    scope: 'aws',
    context: 'slowSenderMaxConcurrency',
    default: LANE_MAPPINGS.slow.maxConcurrency,
    doc: 'the same for the slow lane',
  }),
  senderReservedConcurrency: declare(number({ min: 2 }), {
    scope: 'aws',
    context: 'senderReservedConcurrency',
    shownDefault: 'none',
    doc: "concurrency reserved for the fast lane's sender, at least `senderMaxConcurrency`; unset, nothing is reserved. Lambda refuses a reservation that leaves the account less than 100 unreserved, so both reservations together must stay at most the account's concurrency quota minus 100: `npm run cli -- preflight` checks ([operations.md](operations.md#quotas-a-deployment-needs))",
  }),
  slowSenderReservedConcurrency: declare(number({ min: 2 }), {
    scope: 'aws',
    context: 'slowSenderReservedConcurrency',
    shownDefault: 'none',
    doc: "the same for the slow lane's sender, at least `slowSenderMaxConcurrency`",
  }),
  apiRateLimit: declare(number({ min: 0, whole: false }), {
    scope: 'aws',
    context: 'apiRateLimit',
    default: 100,
    doc: "requests per second the HTTP API's stage throttle allows, averaged over time: the public routes' limit (`/api/v1`, `/console`, anything unmatched); the operator's routes have their own (`adminRateLimit`)",
  }),
  apiBurstLimit: declare(number({ min: 0 }), {
    scope: 'aws',
    context: 'apiBurstLimit',
    default: 200,
    doc: 'requests the stage throttle allows in a burst above the rate',
  }),
  adminRateLimit: declare(number({ min: 0, whole: false }), {
    scope: 'aws',
    context: 'adminRateLimit',
    default: 100,
    doc: "requests per second each operator route (`/admin/v1`: publish, organizations, dead letters) allows, a route-level limit apart from the stage's, so public traffic cannot get a publish answered 429",
  }),
  adminBurstLimit: declare(number({ min: 0 }), {
    scope: 'aws',
    context: 'adminBurstLimit',
    default: 200,
    doc: 'requests each operator route allows in a burst above its rate',
  }),
  domainName: declare(nonEmpty(), {
    scope: 'aws',
    context: 'domainName',
    shownDefault: 'none',
    doc: "a custom domain for the API (for example `webhooks.example.com`), with `certificateArn`: the API's URL and the JWT issuer then stay the same whatever happens to the stack. Point a CNAME (or an alias) at the `DomainTarget` output",
  }),
  certificateArn: declare(nonEmpty(), {
    scope: 'aws',
    context: 'certificateArn',
    shownDefault: 'none',
    doc: "the ARN of an ACM certificate for `domainName`, in the stack's region",
  }),
  traceSampleRate: declare(number({ min: 0, max: 1, whole: false }), {
    scope: 'aws',
    context: 'traceSampleRate',
    default: 0.01,
    doc: "share of the functions' invocations X-Ray traces beyond the first each second (an X-Ray sampling rule for this stack's functions): X-Ray bills $5 per million traces, so at most one trace a second plus this share; `0` keeps only the one a second",
  }),
  oldestMessageAgeAlarmMinutes: declare(number({ whole: false }), {
    scope: 'aws',
    context: 'oldestMessageAgeAlarmMinutes',
    default: 60,
    doc: "threshold of each lane's oldest-message alarm (OldestMessageAge, SlowLaneOldestMessageAge)",
  }),
  sweepIntervalMinutes: declare(number({ whole: false }), {
    scope: 'aws',
    context: 'sweepIntervalMinutes',
    default: 1,
    doc: 'how often the sweeper enqueues webhooks whose next attempt is nearly due',
  }),
  secretsPrefix: declare(nonEmpty(), {
    scope: 'aws',
    context: 'secretsPrefix',
    shownDefault: 'the stack name',
    doc: "prefix of the secrets' names (`<prefix>/signing-key`, `<prefix>/keys/{signing-public,hmac-root,seal}`, and older organizations' `<prefix>/organizations/<id>/hmac`)",
  }),
  logGroupRetentionDays: declare(
    number().pipe(
      z.literal(LOG_RETENTION_DAYS, {
        error: `expected a CloudWatch Logs retention (${LOG_RETENTION_DAYS.join(', ')})`,
      }),
    ),
    {
      scope: 'aws',
      context: 'logGroupRetentionDays',
      default: 90,
      doc: `retention of the functions' and the API's log groups, in days: one of CloudWatch Logs' periods (${LOG_RETENTION_DAYS.slice(0, -1).join(', ')}), or \`9999\`, kept forever`,
    },
  ),
} as const;

type Settings = typeof SETTINGS;
type SettingName = keyof Settings;

/** A setting's value: what its parser returns, or undefined for an optional setting. */
type Value<N extends SettingName> =
  z.output<Settings[N]['parse']> | (Settings[N] extends { readonly default: unknown } ? never : undefined);

type InScope<S extends Scope> = { [N in SettingName]: Settings[N]['scope'] extends S ? N : never }[SettingName];

/** The values of every setting of a scope, by setting name: `SettingValues<'delivery'>` is the delivery configuration. */
export type SettingValues<S extends Scope> = { -readonly [N in InScope<S>]: Value<N> };

type ContextKey<N extends SettingName> = Settings[N] extends { readonly context: infer K extends string } ? K : never;

/** Every setting with a context key, by that key, each optional: the CDK stack's props. */
export type ContextSettings = { readonly [N in SettingName as ContextKey<N>]?: z.output<Settings[N]['parse']> };

export class ConfigError extends Error {}

/** Every declaration, by name, without the literal types. */
const entries = Object.entries(SETTINGS) as [SettingName, SettingDeclaration][];

const namesIn = (scope: Scope) => entries.filter(([, setting]) => setting.scope === scope);

/** The value `raw` holds, or what the parser said about it, in one line. */
function parseText(setting: SettingDeclaration, raw: string): { value: unknown } | { message: string } {
  const parsed = setting.parse.safeParse(raw);
  if (parsed.success) return { value: parsed.data };
  const messages = parsed.error.issues.map((issue) =>
    typeof issue.path[0] === 'number' ? `item ${issue.path[0] + 1}: ${issue.message}` : issue.message,
  );
  return { message: messages.join(', ') };
}

/** A value as its variable or context value holds it: lists comma-separated. */
export const formatSetting = (value: unknown): string => (Array.isArray(value) ? value.join(',') : String(value));

/** A copy, so a caller that changes a default list does not change the next caller's. */
const copy = <T>(value: T): T => (Array.isArray(value) ? ([...value] as T) : value);

/**
 * Reads the settings of a scope from an environment, each from its variable (or its earlier
 * name), falling back to `defaults`, then to the table's default. For local settings an empty
 * variable counts as unset. Throws one ConfigError naming every variable that does not parse.
 */
export function settingsFromEnv<S extends Scope>(
  scope: S,
  env: Record<string, string | undefined>,
  defaults: Partial<SettingValues<S>> = {},
): SettingValues<S> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, setting] of namesIn(scope)) {
    const isSet = (variable: string | undefined): variable is string =>
      variable !== undefined && env[variable] !== undefined && !(scope === 'local' && env[variable] === '');
    const variable = [setting.env, setting.formerEnv].find(isSet);
    const raw = variable === undefined ? undefined : env[variable];
    if (variable === undefined || raw === undefined) {
      values[name] = copy((defaults as Record<string, unknown>)[name] ?? setting.default);
      continue;
    }
    const parsed = parseText(setting, raw);
    if ('value' in parsed) values[name] = parsed.value;
    else problems.push(`${variable}: ${parsed.message}, got ${JSON.stringify(raw)}`);
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return values as SettingValues<S>;
}

/** The variables that carry these values, the inverse of `settingsFromEnv`. */
export function settingsToEnv<S extends Scope>(scope: S, values: Partial<SettingValues<S>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, setting] of namesIn(scope)) {
    const value = (values as Record<string, unknown>)[name];
    if (setting.env && value !== undefined) env[setting.env] = formatSetting(value);
  }
  return env;
}

/**
 * Reads every setting with a context key (or its earlier key) from CDK context. Values from the
 * command line are strings; cdk.json may hold numbers, booleans and arrays, which are read as
 * their text. An unset key stays undefined; a value that does not parse throws, naming the key.
 */
export function settingsFromContext(get: (key: string) => unknown): ContextSettings {
  const props: Record<string, unknown> = {};
  for (const [, setting] of entries) {
    if (!setting.context) continue;
    const key = get(setting.context) === undefined && setting.formerContext ? setting.formerContext : setting.context;
    const raw = get(key);
    if (raw === undefined) continue;
    const parsed =
      ['string', 'number', 'boolean'].includes(typeof raw) || Array.isArray(raw)
        ? parseText(setting, formatSetting(raw))
        : { message: 'expected text, a number, a boolean or a list' };
    if (!('value' in parsed)) throw new Error(`context ${key}: ${parsed.message}, got ${JSON.stringify(raw)}`);
    props[setting.context] = parsed.value;
  }
  return props as ContextSettings;
}

/** The settings of a scope from props named by their context keys (the CDK stack's), each falling back to its default. */
export function settingsFromProps<S extends Scope>(scope: S, props: ContextSettings): SettingValues<S> {
  const values: Record<string, unknown> = settingDefaults(scope);
  for (const [name, setting] of namesIn(scope)) {
    const value = setting.context === undefined ? undefined : (props as Record<string, unknown>)[setting.context];
    if (value !== undefined) values[name] = value;
  }
  return values as SettingValues<S>;
}

/** Every setting's default where it has one, by name. */
export function settingDefaults<S extends Scope>(scope: S): SettingValues<S> {
  return Object.fromEntries(namesIn(scope).map(([name, setting]) => [name, copy(setting.default)])) as SettingValues<S>;
}

/** What `npm start` uses for the settings of a scope that have a local default of their own. */
export function localDefaults<S extends Scope>(scope: S): Partial<SettingValues<S>> {
  return Object.fromEntries(
    namesIn(scope)
      .filter(([, setting]) => setting.localDefault !== undefined)
      .map(([name, setting]) => [name, copy(setting.localDefault)]),
  ) as Partial<SettingValues<S>>;
}

/** Every declaration, in the table's order, for the docs. */
export const settingDeclarations = (): readonly [SettingName, SettingDeclaration][] => entries;
