// Covers shared/runtime/config.ts: delivery settings read from the environment, their defaults, their validation and the round trip back to an environment.
import { describe, expect, it } from 'vitest';
import { ConfigError, DELIVERY_DEFAULTS, deliveryConfigFromEnv, deliveryConfigToEnv } from '#shared/runtime/config.ts';

describe('deliveryConfigFromEnv', () => {
  it('has the documented defaults', () => {
    expect(deliveryConfigFromEnv({})).toEqual({
      retrySchedule: [5, 300, 1800, 7200, 18000, 36000, 36000],
      timeoutMs: 15_000,
      allowCidrs: [],
      webhookRetentionDays: 90,
      webhookShards: 8,
      allowHttp: false,
      issuer: 'http://localhost:3000',
      fastLaneMs: 3000,
      slowAfterMs: 1000,
      fastLaneBatchSize: 10,
      fastLaneConcurrency: 10,
      slowLaneBatchSize: 10,
      slowLaneConcurrency: 5,
      autoDisableAfterSeconds: 432_000,
      awsDestinationRoles: [],
      eventBridgeSource: 'lago.webhooks',
      retryAfterMaxSeconds: 3600,
      breakerFailures: 0,
      breakerCooldownSeconds: 60,
      keyCacheSeconds: 300,
      consoleFrameAncestors: "'none'",
      rateLimitTestEventsPerMinute: 30,
      rateLimitEndpointTestEventsPerMinute: 10,
      rateLimitRedeliveriesPerMinute: 120,
      rateLimitRecoveriesPerHour: 20,
      rateLimitRotationsPerHour: 10,
      logLevel: 'info',
    });
  });

  it('refuses an unknown log level, naming the variable and the levels', () => {
    expect(() => deliveryConfigFromEnv({ LOG_LEVEL: 'verbose' })).toThrow(
      'LOG_LEVEL: expected trace, debug, info, warn, error, fatal, silent, got "verbose"',
    );
  });

  it('does not share the default schedule between calls', () => {
    deliveryConfigFromEnv({}).retrySchedule.push(1);
    expect(deliveryConfigFromEnv({}).retrySchedule).toHaveLength(7);
  });

  it('parses every setting', () => {
    expect(
      deliveryConfigFromEnv({
        WEBHOOK_RETRY_SCHEDULE: ' 1, 2 ,3,43080',
        WEBHOOK_TIMEOUT_MS: '2500',
        WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8, ::1/128',
        WEBHOOK_RETENTION_DAYS: '7',
        WEBHOOK_SHARDS: '16',
        WEBHOOK_ALLOW_HTTP: 'true',
        API_BASE_URL: 'https://hooks.example.com',
        WEBHOOK_FAST_LANE_MS: '2000',
        WEBHOOK_SLOW_AFTER_MS: '500',
        WEBHOOK_AUTO_DISABLE_AFTER: '3600',
        WEBHOOK_RETRY_AFTER_MAX_SECONDS: '600',
        WEBHOOK_BREAKER_FAILURES: '10',
        WEBHOOK_BREAKER_COOLDOWN_SECONDS: '30',
        WEBHOOK_FAST_LANE_BATCH_SIZE: '5',
        WEBHOOK_FAST_LANE_CONCURRENCY: '20',
        WEBHOOK_SLOW_LANE_BATCH_SIZE: '1',
        WEBHOOK_SLOW_LANE_CONCURRENCY: '8',
        WEBHOOK_KEY_CACHE_SECONDS: '5',
        WEBHOOK_AWS_DESTINATION_ROLES: 'arn:aws:iam::123456789012:role/lago-*, 210987654321',
        WEBHOOK_EVENTBRIDGE_SOURCE: 'billing.lago',
        CONSOLE_FRAME_ANCESTORS: " 'self'  https://app.example.com https://*.example.org:8443 ",
        RATE_LIMIT_TEST_EVENTS_PER_MINUTE: '5',
        RATE_LIMIT_ENDPOINT_TEST_EVENTS_PER_MINUTE: '2',
        RATE_LIMIT_REDELIVERIES_PER_MINUTE: '0',
        RATE_LIMIT_RECOVERIES_PER_HOUR: '100',
        RATE_LIMIT_ROTATIONS_PER_HOUR: ' 3 ',
        LOG_LEVEL: 'WARN',
      }),
    ).toEqual({
      retrySchedule: [1, 2, 3, 43080],
      timeoutMs: 2500,
      allowCidrs: ['127.0.0.0/8', '::1/128'],
      webhookRetentionDays: 7,
      webhookShards: 16,
      allowHttp: true,
      issuer: 'https://hooks.example.com',
      fastLaneMs: 2000,
      slowAfterMs: 500,
      fastLaneBatchSize: 5,
      fastLaneConcurrency: 20,
      slowLaneBatchSize: 1,
      slowLaneConcurrency: 8,
      autoDisableAfterSeconds: 3600,
      awsDestinationRoles: ['arn:aws:iam::123456789012:role/lago-*', 'arn:aws:iam::210987654321:role/*'],
      eventBridgeSource: 'billing.lago',
      retryAfterMaxSeconds: 600,
      breakerFailures: 10,
      breakerCooldownSeconds: 30,
      keyCacheSeconds: 5,
      consoleFrameAncestors: "'self' https://app.example.com https://*.example.org:8443",
      rateLimitTestEventsPerMinute: 5,
      rateLimitEndpointTestEventsPerMinute: 2,
      rateLimitRedeliveriesPerMinute: 0,
      rateLimitRecoveriesPerHour: 100,
      rateLimitRotationsPerHour: 3,
      logLevel: 'warn',
    });
  });

  const BAD: [string, Record<string, string>][] = [
    ['a frame-ancestors source that is not an origin', { CONSOLE_FRAME_ANCESTORS: 'https://app.example.com/path' }],
    ['a frame-ancestors value that breaks out of the directive', { CONSOLE_FRAME_ANCESTORS: "'self'; script-src *" }],
    ["'none' with other sources", { CONSOLE_FRAME_ANCESTORS: "'none' https://app.example.com" }],
    ['an empty frame-ancestors', { CONSOLE_FRAME_ANCESTORS: ' ' }],
    ['a negative wait', { WEBHOOK_RETRY_SCHEDULE: '5,-1' }],
    ['a non-numeric wait', { WEBHOOK_RETRY_SCHEDULE: '5,soon' }],
    ['a fractional wait', { WEBHOOK_RETRY_SCHEDULE: '1.5' }],
    ['a wait over 12 hours', { WEBHOOK_RETRY_SCHEDULE: '5,43081' }],
    ['waits that add up to more than a week', { WEBHOOK_RETRY_SCHEDULE: Array(13).fill('43080').join(',') }],
    ['a fast lane under 100 ms', { WEBHOOK_FAST_LANE_MS: '99' }],
    ['a non-numeric slow threshold', { WEBHOOK_SLOW_AFTER_MS: 'soon' }],
    ['a slow threshold longer than the fast lane', { WEBHOOK_SLOW_AFTER_MS: '5000', WEBHOOK_FAST_LANE_MS: '3000' }],
    ['more than 24 retries', { WEBHOOK_RETRY_SCHEDULE: Array(25).fill('1').join(',') }],
    ['a negative timeout', { WEBHOOK_TIMEOUT_MS: '-1' }],
    ['a non-numeric timeout', { WEBHOOK_TIMEOUT_MS: 'fast' }],
    ['a timeout over a minute', { WEBHOOK_TIMEOUT_MS: '60001' }],
    ['a bad CIDR', { WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8,not-a-cidr' }],
    ['a retention of zero days', { WEBHOOK_RETENTION_DAYS: '0' }],
    ['a non-numeric retention', { WEBHOOK_RETENTION_DAYS: 'forever' }],
    ['a non-numeric retention under its earlier name', { WEBHOOK_LOG_RETENTION_DAYS: 'forever' }],
    ['no shards', { WEBHOOK_SHARDS: '0' }],
    ['more than 32 shards', { WEBHOOK_SHARDS: '33' }],
    ['a fractional shard count', { WEBHOOK_SHARDS: '2.5' }],
    ['an allow-http flag that is not true or false', { WEBHOOK_ALLOW_HTTP: 'yes' }],
    ['an API base URL that is not a URL', { API_BASE_URL: 'hooks.example.com' }],
    ['a fast-lane batch over 10', { WEBHOOK_FAST_LANE_BATCH_SIZE: '11' }],
    ['a slow-lane concurrency of zero', { WEBHOOK_SLOW_LANE_CONCURRENCY: '0' }],
    ['a negative auto-disable period', { WEBHOOK_AUTO_DISABLE_AFTER: '-1' }],
    ['an auto-disable period over 90 days', { WEBHOOK_AUTO_DISABLE_AFTER: String(90 * 86_400 + 1) }],
    ['a Retry-After cap of 0', { WEBHOOK_RETRY_AFTER_MAX_SECONDS: '0' }],
    ['a breaker cool-down beyond one delayed message', { WEBHOOK_BREAKER_COOLDOWN_SECONDS: '891' }],
    ['a key cache of 0 seconds', { WEBHOOK_KEY_CACHE_SECONDS: '0' }],
    ['a key cache over an hour', { WEBHOOK_KEY_CACHE_SECONDS: '3601' }],
    ['a negative rate limit', { RATE_LIMIT_TEST_EVENTS_PER_MINUTE: '-1' }],
    ['a fractional rate limit', { RATE_LIMIT_ENDPOINT_TEST_EVENTS_PER_MINUTE: '2.5' }],
    ['a rate limit that is not a number', { RATE_LIMIT_ROTATIONS_PER_HOUR: 'many' }],
    ['an AWS destination role that is a user', { WEBHOOK_AWS_DESTINATION_ROLES: 'arn:aws:iam::123456789012:user/me' }],
    ['an AWS destination role of a short account id', { WEBHOOK_AWS_DESTINATION_ROLES: '12345' }],
    ["an EventBridge source in AWS's namespace", { WEBHOOK_EVENTBRIDGE_SOURCE: 'aws.lago' }],
  ];
  for (const [what, env] of BAD) {
    it(`throws ConfigError naming the variable for ${what}`, () => {
      const name = Object.keys(env)[0]!;
      expect(() => deliveryConfigFromEnv(env)).toThrow(ConfigError);
      expect(() => deliveryConfigFromEnv(env)).toThrow(name);
    });
  }

  it('says what it expected and the value it got', () => {
    expect(() => deliveryConfigFromEnv({ WEBHOOK_TIMEOUT_MS: 'fast' })).toThrow(
      'invalid configuration: WEBHOOK_TIMEOUT_MS: expected a number, got "fast"',
    );
    expect(() => deliveryConfigFromEnv({ WEBHOOK_RETRY_SCHEDULE: '5,1.5' })).toThrow(
      'invalid configuration: WEBHOOK_RETRY_SCHEDULE: item 2: expected whole seconds, got "5,1.5"',
    );
  });

  it("falls back to the defaults it is given (npm start's) before the table's, and an empty list is a value", () => {
    const local = { allowCidrs: ['127.0.0.0/8'], allowHttp: true };
    expect(deliveryConfigFromEnv({}, local)).toMatchObject(local);
    expect(deliveryConfigFromEnv({ WEBHOOK_ALLOW_CIDRS: '', WEBHOOK_ALLOW_HTTP: 'false' }, local)).toMatchObject({
      allowCidrs: [],
      allowHttp: false,
    });
  });
});

describe('deliveryConfigToEnv', () => {
  it('round-trips through deliveryConfigFromEnv', () => {
    const configs = [
      deliveryConfigFromEnv({}),
      {
        retrySchedule: [1, 60, 43080],
        timeoutMs: 300,
        allowCidrs: ['127.0.0.0/8', 'fd00::/8'],
        webhookRetentionDays: 3650,
        webhookShards: 1,
        allowHttp: true,
        issuer: 'https://api.example.com/base',
        fastLaneMs: 100,
        slowAfterMs: 50,
        fastLaneBatchSize: 1,
        fastLaneConcurrency: 100,
        slowLaneBatchSize: 3,
        slowLaneConcurrency: 2,
        autoDisableAfterSeconds: 0,
        awsDestinationRoles: ['arn:aws:iam::*:role/lago-webhooks', 'arn:aws:iam::123456789012:role/a/b/*'],
        eventBridgeSource: 'com.example.billing',
        retryAfterMaxSeconds: 43080,
        breakerFailures: 1000,
        breakerCooldownSeconds: 1,
        keyCacheSeconds: 1,
        consoleFrameAncestors: 'https://app.example.com',
        rateLimitTestEventsPerMinute: 0,
        rateLimitEndpointTestEventsPerMinute: 1,
        rateLimitRedeliveriesPerMinute: 100_000,
        rateLimitRecoveriesPerHour: 7,
        rateLimitRotationsPerHour: 0,
        logLevel: 'debug' as const,
      },
    ];
    for (const config of configs) expect(deliveryConfigFromEnv(deliveryConfigToEnv(config))).toEqual(config);
  });

  it('still reads the earlier name of the retention, WEBHOOK_LOG_RETENTION_DAYS', () => {
    expect(deliveryConfigFromEnv({ WEBHOOK_LOG_RETENTION_DAYS: '12' }).webhookRetentionDays).toBe(12);
    expect(
      deliveryConfigFromEnv({ WEBHOOK_LOG_RETENTION_DAYS: '12', WEBHOOK_RETENTION_DAYS: '30' }).webhookRetentionDays,
    ).toBe(30);
  });

  it('takes every default from DELIVERY_DEFAULTS', () => {
    expect(deliveryConfigFromEnv({})).toEqual({
      ...DELIVERY_DEFAULTS,
      retrySchedule: [...DELIVERY_DEFAULTS.retrySchedule],
      allowCidrs: [],
      awsDestinationRoles: [],
    });
  });

  it('uses the documented variable names', () => {
    expect(Object.keys(deliveryConfigToEnv(deliveryConfigFromEnv({}))).sort()).toEqual([
      'API_BASE_URL',
      'CONSOLE_FRAME_ANCESTORS',
      'LOG_LEVEL',
      'RATE_LIMIT_ENDPOINT_TEST_EVENTS_PER_MINUTE',
      'RATE_LIMIT_RECOVERIES_PER_HOUR',
      'RATE_LIMIT_REDELIVERIES_PER_MINUTE',
      'RATE_LIMIT_ROTATIONS_PER_HOUR',
      'RATE_LIMIT_TEST_EVENTS_PER_MINUTE',
      'WEBHOOK_ALLOW_CIDRS',
      'WEBHOOK_ALLOW_HTTP',
      'WEBHOOK_AUTO_DISABLE_AFTER',
      'WEBHOOK_AWS_DESTINATION_ROLES',
      'WEBHOOK_BREAKER_COOLDOWN_SECONDS',
      'WEBHOOK_BREAKER_FAILURES',
      'WEBHOOK_EVENTBRIDGE_SOURCE',
      'WEBHOOK_FAST_LANE_BATCH_SIZE',
      'WEBHOOK_FAST_LANE_CONCURRENCY',
      'WEBHOOK_FAST_LANE_MS',
      'WEBHOOK_KEY_CACHE_SECONDS',
      'WEBHOOK_RETENTION_DAYS',
      'WEBHOOK_RETRY_AFTER_MAX_SECONDS',
      'WEBHOOK_RETRY_SCHEDULE',
      'WEBHOOK_SHARDS',
      'WEBHOOK_SLOW_AFTER_MS',
      'WEBHOOK_SLOW_LANE_BATCH_SIZE',
      'WEBHOOK_SLOW_LANE_CONCURRENCY',
      'WEBHOOK_TIMEOUT_MS',
    ]);
  });
});
